"""Selective disclosure and the compact presentation token (pure: no I/O).

Every field of a license becomes a **disclosure**: ``b64url(canonical_json([salt, name, value]))``
with a fresh 16-byte random salt. A document lists only their **digests** — the first 16 bytes of
SHA-256 over the disclosure's ASCII text — sorted by value, so neither the values nor which digest
belongs to which field can be read from it. Showing a field means handing over its disclosure;
the verifier hashes it and finds the digest among the signed ones. Hidden fields never leave the
hub: only their salted digests do, and fresh salts per presentation make them unlinkable.

Token (``GHP1``), ASCII, fits a QR code::

    GHP1.<b64url(payload)>.<b64url(DER signature)>~<disclosure>~<disclosure>...

The signature is by the issuing department's seal (SM2-SM3 or ES256) over the ASCII bytes of
``GHP1.<b64url(payload)>``. The payload is canonical JSON (sorted keys, no spaces, UTF-8)::

    {"v":1, "typ": license type, "iss": department code, "kid": seal key id, "pid": presentation id,
     "iat": unix seconds, "exp": unix seconds, "st": [status list epoch, slot], "sd": b64url(digests)}
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any

PREFIX = "GHP1"
DIGEST_BYTES = 16


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64u(text: str) -> bytes:
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def make_disclosures(data: dict[str, Any]) -> dict[str, str]:
    """Field -> disclosure, with fresh salts."""
    return {name: b64u(canonical_json([b64u(secrets.token_bytes(16)), name, value])) for name, value in data.items()}


def digest(disclosure: str) -> bytes:
    return hashlib.sha256(disclosure.encode("ascii")).digest()[:DIGEST_BYTES]


def digest_list(disclosures: dict[str, str]) -> bytes:
    return b"".join(sorted(digest(d) for d in disclosures.values()))


def open_disclosure(disclosure: str) -> tuple[str, Any]:
    salt, name, value = json.loads(unb64u(disclosure))
    if not isinstance(salt, str) or not isinstance(name, str):
        raise ValueError("malformed disclosure")
    return name, value


def signing_input(payload: dict[str, Any]) -> str:
    return f"{PREFIX}.{b64u(canonical_json(payload))}"


def assemble(signing_text: str, signature: bytes, shown: list[str]) -> str:
    return "~".join([f"{signing_text}.{b64u(signature)}", *shown])


@dataclass(frozen=True)
class ParsedToken:
    payload: dict[str, Any]
    signing_text: str
    signature: bytes
    disclosures: list[str]


def parse(token: str) -> ParsedToken:
    """Split a token; ValueError when it is not one (the signature is checked by the caller)."""
    if not isinstance(token, str) or not token.isascii() or len(token) > 4096:
        raise ValueError("not a GHP1 token")
    head, *disclosures = token.strip().split("~")
    parts = head.split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise ValueError("not a GHP1 token")
    try:
        payload = json.loads(unb64u(parts[1]))
        signature = unb64u(parts[2])
    except (ValueError, binascii.Error) as exc:
        raise ValueError("not a GHP1 token") from exc
    if not isinstance(payload, dict):
        raise ValueError("not a GHP1 token")
    return ParsedToken(payload=payload, signing_text=f"{parts[0]}.{parts[1]}", signature=signature,
                       disclosures=[d for d in disclosures if d])


def revealed(parsed: ParsedToken) -> dict[str, Any]:
    """The shown fields whose digests the signed payload lists; ValueError on any stranger."""
    signed = unb64u(parsed.payload.get("sd", ""))
    digests = {signed[i:i + DIGEST_BYTES] for i in range(0, len(signed), DIGEST_BYTES)}
    fields = {}
    for disclosure in parsed.disclosures:
        if digest(disclosure) not in digests:
            raise ValueError("a shown field is not covered by the signature")
        name, value = open_disclosure(disclosure)
        if name in fields:
            raise ValueError("a field is shown twice")
        fields[name] = value
    return fields
