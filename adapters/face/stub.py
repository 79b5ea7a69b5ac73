"""A liveness + match provider stub with deterministic outcomes.

Real providers (WeChat facial recognition, Alipay certification, a vendor SDK) hand the client a
token, the SDK films the citizen, and the server reads the verdict. The stub keeps no state: the
provider session carries a keyed digest of the ID number, and identities in ``FAILS`` fail the
liveness check (docs/identities.md lists them).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from domain.identity.ports import FaceChallenge, FaceOutcome

FAILS = {"310115199208150037"}  # carol: the liveness check fails
_KEY = b"govhub face stub"


def _digest(id_number: str) -> str:
    return hmac.new(_KEY, id_number.encode(), hashlib.sha256).hexdigest()[:24]


class StubFaceVerifier:
    def __init__(self, fails: set[str] | None = None) -> None:
        self._failing = {_digest(n) for n in (FAILS if fails is None else fails)}

    async def start(self, *, name: str, id_number: str, channel: str) -> FaceChallenge:
        session = f"stub-{_digest(id_number)}-{secrets.token_hex(8)}"
        return FaceChallenge(provider_session=session, sdk_token="sdk-" + secrets.token_urlsafe(24), expires_in=1800)

    async def result(self, provider_session: str) -> FaceOutcome:
        digest = provider_session.split("-")[1]
        if digest in self._failing:
            return FaceOutcome(passed=False, liveness=False, similarity=0.0, reason="liveness_failed")
        return FaceOutcome(passed=True, liveness=True, similarity=0.93)
