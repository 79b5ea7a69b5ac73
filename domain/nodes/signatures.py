"""GOVHUB-SIG-V1: how nodes sign their calls to the hub, and the hub its calls to nodes.

ECDSA over P-256 with SHA-256; the signature is the DER encoding, in standard base64 (with
padding) in ``X-Gov-Signature``. The string to sign is UTF-8, seven lines joined by a single LF
(``\\n``), with no LF after the last line::

    GOVHUB-SIG-V1
    <X-Gov-Node: the signer's node code, exactly as sent>
    <HTTP method, upper case>
    <path as sent on the wire (still percent-encoded); if the query is not empty, "?" and its
     "&"-separated pieces, empty pieces dropped, sorted by code point, joined with "&">
    <X-Gov-Timestamp: unix seconds, exactly as sent>
    <X-Gov-Nonce: exactly as sent>
    <SHA-256 of the body bytes as sent, lower-case hex (of b"" when there is no body)>

The signer's code is signed too: two nodes that share a key cannot pass one's request off as the
other's. Pieces of the query are sorted but not re-encoded, so a client library that reorders
parameters still verifies while nothing else is open to interpretation. docs/nodes.md has the
same rules with worked examples; tests/unit/test_node_signatures.py holds both to them.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import secrets

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

SCHEME = "GOVHUB-SIG-V1"
HEADER_NODE = "X-Gov-Node"
HEADER_TIMESTAMP = "X-Gov-Timestamp"
HEADER_NONCE = "X-Gov-Nonce"
HEADER_SIGNATURE = "X-Gov-Signature"
HEADERS = (HEADER_NODE, HEADER_TIMESTAMP, HEADER_NONCE, HEADER_SIGNATURE)
ALGORITHM = "ECDSA-P256-SHA256"  # DER signature; not JOSE "ES256", which is raw r||s

_ECDSA = ec.ECDSA(hashes.SHA256())


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body or b"").hexdigest()


def canonical_target(path: str, query_string: str = "") -> str:
    """``/a/b`` + ``z=1&a=2`` -> ``/a/b?a=2&z=1``."""
    pieces = sorted(piece for piece in (query_string or "").split("&") if piece)
    return path + ("?" + "&".join(pieces) if pieces else "")


def string_to_sign(*, node: str, method: str, path: str, query_string: str, timestamp: str,
                   nonce: str, body: bytes) -> str:
    return "\n".join([SCHEME, node, method.upper(), canonical_target(path, query_string),
                      timestamp, nonce, body_digest(body)])


# --- keys ----------------------------------------------------------------------------------


def load_private_key(pem: bytes) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the key is not an EC P-256 private key")
    return key


def load_public_key(pem: bytes | str) -> ec.EllipticCurvePublicKey:
    """Raises ValueError for anything but a P-256 public key in PEM."""
    raw = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(raw)
    except (TypeError, UnsupportedAlgorithm) as exc:
        raise ValueError(f"not a usable public key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ValueError("the key is not an EC P-256 public key")
    return key


def public_key_pem(key: ec.EllipticCurvePublicKey) -> str:
    """SubjectPublicKeyInfo PEM: one spelling per key, whatever form it arrived in."""
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    return key.public_bytes(serialization.Encoding.PEM, spki).decode()


def key_id(key: ec.EllipticCurvePublicKey) -> str:
    """First 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo, hex (as EU DCC key ids)."""
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).digest()[:8].hex()


# --- signing -------------------------------------------------------------------------------


def sign(private_key: ec.EllipticCurvePrivateKey, message: str) -> str:
    return base64.b64encode(private_key.sign(message.encode("utf-8"), _ECDSA)).decode("ascii")


def verify(public_key: ec.EllipticCurvePublicKey, message: str, signature: str) -> bool:
    try:
        der = base64.b64decode(signature, validate=True)
        public_key.verify(der, message.encode("utf-8"), _ECDSA)
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def new_nonce() -> str:
    return secrets.token_urlsafe(24)  # 32 url-safe characters, 192 random bits


def signed_headers(*, private_key: ec.EllipticCurvePrivateKey, node: str, method: str, path: str,
                   query_string: str = "", body: bytes = b"", timestamp: int,
                   nonce: str | None = None) -> dict[str, str]:
    """The four headers that sign one request. A retry must sign again: fresh nonce and time."""
    nonce = nonce or new_nonce()
    message = string_to_sign(node=node, method=method, path=path, query_string=query_string,
                             timestamp=str(timestamp), nonce=nonce, body=body)
    return {HEADER_NODE: node, HEADER_TIMESTAMP: str(timestamp), HEADER_NONCE: nonce,
            HEADER_SIGNATURE: sign(private_key, message)}
