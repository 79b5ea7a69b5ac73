"""GOVHUB-STMT-V1: a statement the hub signs for a node to act on, which the node verifies before it
acts — today a fund centre's payout instruction (docs/housing-fund.md, "How a centre verifies").

A request signature (``signatures.py``, GOVHUB-SIG-V1) says who sent a request, just now. A
statement says what the hub vouches for wherever it travels: inside an application's form, through
the outbox, an operator's resend, a delivery days later. Same key and algorithm as the hub's
requests (ECDSA P-256 with SHA-256, DER, standard base64; the key published at
``GET /gov/v1/hub-key``), another string to sign, so neither can pass for the other.

The envelope, a JSON object::

    {"scheme": "GOVHUB-STMT-V1", "type": "housing_fund.payout", "signer": "govhub",
     "key_id": "<the hub key's id, as GET /gov/v1/hub-key publishes it>",
     "statement": "<the statement: a JSON object, as text>",
     "signature": "<base64 of the DER signature over the string to sign>"}

The string to sign is UTF-8, four lines joined by a single LF, no LF after the last::

    GOVHUB-STMT-V1
    <type>
    <signer>
    <SHA-256 of the statement text's UTF-8 bytes, lower-case hex>

The statement travels as text: the receiver verifies the very bytes that were signed and only then
parses them, so there is no canonical JSON to agree on.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from domain.nodes import signatures
from domain.nodes.rules import HUB_NODE_CODE

SCHEME = "GOVHUB-STMT-V1"
FIELDS = ("scheme", "type", "signer", "key_id", "statement", "signature")
MAX_STATEMENT_CHARS = 8192  # a payout instruction is ~600; anything far larger is not ours


class StatementRefused(ValueError):
    """Not a statement this receiver may act on. ``reason``: malformed, scheme, type, signer,
    key, signature or statement (the text is not a JSON object)."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


def string_to_sign(*, type: str, signer: str, statement: str) -> str:
    digest = hashlib.sha256(statement.encode("utf-8")).hexdigest()
    return f"{SCHEME}\n{type}\n{signer}\n{digest}"


class StatementSigner:
    """Signs statements with the hub's node key (the composition root builds the one signer)."""

    def __init__(self, private_key_pem: bytes, signer: str = HUB_NODE_CODE) -> None:
        self._key = signatures.load_private_key(private_key_pem)
        self._signer = signer
        self.key_id = signatures.key_id(self._key.public_key())

    def sign(self, type: str, claims: dict[str, Any]) -> dict[str, str]:
        statement = json.dumps(claims, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        message = string_to_sign(type=type, signer=self._signer, statement=statement)
        return {"scheme": SCHEME, "type": type, "signer": self._signer, "key_id": self.key_id,
                "statement": statement, "signature": signatures.sign(self._key, message)}


def verify(public_key: ec.EllipticCurvePublicKey, envelope: Any, *, type: str,
           signer: str = HUB_NODE_CODE) -> dict[str, Any]:
    """The statement's claims, if ``envelope`` is a statement of ``type`` by ``signer`` whose
    signature verifies with ``public_key``; else StatementRefused saying why."""
    if not isinstance(envelope, dict) or not all(isinstance(envelope.get(f), str) for f in FIELDS):
        raise StatementRefused("malformed", f"a statement is an object of the strings {', '.join(FIELDS)}")
    if envelope["scheme"] != SCHEME:
        raise StatementRefused("scheme", f"scheme {envelope['scheme']!r} is not {SCHEME}")
    if envelope["type"] != type:
        raise StatementRefused("type", f"a {envelope['type']!r} statement is not a {type!r} one")
    if envelope["signer"] != signer:
        raise StatementRefused("signer", f"signed by {envelope['signer']!r}, not {signer!r}")
    if envelope["key_id"] != signatures.key_id(public_key):
        raise StatementRefused("key", f"key {envelope['key_id']!r} is not the signer's current key")
    statement = envelope["statement"]
    if len(statement) > MAX_STATEMENT_CHARS:
        raise StatementRefused("malformed", "the statement is too long")
    message = string_to_sign(type=type, signer=signer, statement=statement)
    if not signatures.verify(public_key, message, envelope["signature"]):
        raise StatementRefused("signature", "the signature does not verify with the signer's key")
    try:
        claims = json.loads(statement)
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise StatementRefused("statement", "the signed statement is not a JSON object")
    return claims
