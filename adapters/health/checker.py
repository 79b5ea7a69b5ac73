"""The hub's use of the stand-alone verifier (``verifier/health.py``): one judge of what a health
code is worth, whether a checkpoint runs it offline or asks the hub online, and whether a region's
signature over a code it signed itself really is that region's.

``check`` loads the lists exactly as a downloading verifier would — every page's signature checked
against the anchor — and keeps that verifier while the lists are the same objects (the health service
hands the same pages until one of the lists changes), so a check costs a verification, not a reload.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography import x509

from verifier import hcert
from verifier.health import HealthVerifier
from verifier.offline import fingerprint


class VerifierChecker:
    def __init__(self) -> None:
        self._held: tuple[tuple[Any, ...], HealthVerifier] | None = None

    def signed_by(self, credential: str, *, certificate_der: bytes) -> bool:
        try:
            certificate = x509.load_der_x509_certificate(certificate_der)
            issued_at = datetime.fromtimestamp(hcert.decode(credential).claims[hcert.IAT], UTC)
            hcert.verify(credential, trusted={hcert.kid_of(certificate_der): certificate}, at=issued_at)
        except (hcert.Refused, ValueError, KeyError, TypeError, OverflowError, OSError):
            return False
        return True

    def check(self, credential: str, *, checkpoint_region: str, at: datetime, anchor: dict[str, Any],
              trust_pages: list[dict[str, Any]], rule_pages: list[dict[str, Any]],
              revocation_pages: list[dict[str, Any]]) -> dict[str, Any]:
        verifier = self._verifier(anchor, trust_pages, rule_pages, revocation_pages)
        return verifier.verify(credential, checkpoint_region=checkpoint_region, at=at).as_dict()

    def _verifier(self, anchor, trust_pages, rule_pages, revocation_pages) -> HealthVerifier:
        key = (anchor["key_id"], trust_pages, rule_pages, revocation_pages)
        held = self._held
        if held is not None and held[0][0] == key[0] and all(a is b for a, b in zip(held[0][1:], key[1:])):
            return held[1]
        verifier = HealthVerifier(anchor=anchor, pin=fingerprint(anchor["public_key_pem"]))
        for page in trust_pages:
            verifier.load_trust_list(page)
        for page in rule_pages:
            verifier.load_rules(page)
        for page in revocation_pages:
            verifier.load_revocations(page)
        self._held = (key, verifier)
        return verifier
