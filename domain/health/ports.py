"""What the health module needs from outside. Adapters implement these.

- ``RegionSigner``: a region that keeps its signing key itself (it did not delegate signing to the
  hub) signs each code it issues. The hub sends the region everything it signs *and* what it means
  — the protected header and the CWT payload as bytes, and the health pass as JSON — so that the
  region can refuse to sign what it did not decide (docs/health-codes.md, "Regions that sign
  themselves"). ``adapters/health/region_signer.py`` speaks that contract
  (``POST {node endpoint}/health/sign``, signed as the hub); the department stub plays Zhejiang.
"""
from __future__ import annotations

from typing import Any, Protocol


class RegionSigner(Protocol):
    async def sign(self, *, node_code: str, kid_hex: str, alg: str, protected: bytes, payload: bytes,
                   health_pass: dict[str, Any]) -> bytes:
        """The raw COSE signature (``r || s`` for ES256/SM2-SM3, the PSS bytes for PS256) over
        ``Sig_structure = ["Signature1", protected, b"", payload]`` by the region's key ``kid_hex``.
        Raises ``UpstreamUnavailable`` when the region cannot answer, ``UpstreamRejected`` when it
        refuses. The hub checks the signature against the key's certificate before using it."""


class CredentialChecker(Protocol):
    """The stand-alone verifier's judgement, used by the hub itself: on a code a region signed (is it
    really signed by that key?) and for checkpoints without a verifier of their own (the online check
    runs exactly what an offline verifier runs, on the lists the hub publishes).
    ``adapters/health/checker.py`` wraps ``verifier/health.py``."""

    def signed_by(self, credential: str, *, certificate_der: bytes) -> bool:
        """Whether the HC1 credential's signature verifies with this certificate's key."""

    def check(self, credential: str, *, checkpoint_region: str, at: Any, anchor: dict[str, Any],
              trust_pages: list[dict[str, Any]], rule_pages: list[dict[str, Any]],
              revocation_pages: list[dict[str, Any]]) -> dict[str, Any]:
        """The verifier's decision as a dict (result, code, reason, colours, rules...)."""
