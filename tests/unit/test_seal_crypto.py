"""Seal signatures checked by an independent implementation: SM2 by a pure-Python verifier written
here from GB/T 32918 (with cryptography's SM3), ES256 by plain cryptography."""
from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from domain.seals import crypto, rules

# GB/T 32918.5 recommended curve
P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
N = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
G = (0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7,
     0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0)
DEFAULT_ID = b"1234567812345678"


def _sm3(data: bytes) -> bytes:
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    return digest.finalize()


def _add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    if p[0] == q[0] and (p[1] + q[1]) % P == 0:
        return None
    slope = (3 * p[0] * p[0] + A) * pow(2 * p[1], -1, P) if p == q else (q[1] - p[1]) * pow(q[0] - p[0], -1, P)
    x = (slope * slope - p[0] - q[0]) % P
    return x, (slope * (p[0] - x) - p[1]) % P


def _mul(k, point):
    result = None
    while k:
        if k & 1:
            result = _add(result, point)
        point, k = _add(point, point), k >> 1
    return result


def _public_point(pem: str) -> tuple[int, int]:
    """The point from the SubjectPublicKeyInfo: its last 65 bytes are 04 || x || y."""
    der = base64.b64decode("".join(l for l in pem.splitlines() if not l.startswith("-----")))
    raw = der[-65:]
    assert raw[0] == 4
    return int.from_bytes(raw[1:33], "big"), int.from_bytes(raw[33:], "big")


def sm2_verify(public: tuple[int, int], message: bytes, signature: bytes) -> bool:
    r, s = decode_dss_signature(signature)
    if not (1 <= r < N and 1 <= s < N):
        return False
    z = _sm3((len(DEFAULT_ID) * 8).to_bytes(2, "big") + DEFAULT_ID
             + b"".join(v.to_bytes(32, "big") for v in (A, B, G[0], G[1], public[0], public[1])))
    e = int.from_bytes(_sm3(z + message), "big")
    t = (r + s) % N
    point = _add(_mul(s, G), _mul(t, public))
    return point is not None and (e + point[0]) % N == r


def test_sm2_seal_signature_verifies_independently():
    pair = crypto.generate(crypto.SM2)
    signer = crypto.load_signer(crypto.SM2, pair.private_pem)
    message = rules.canonical_json(rules.signed_content(
        seal_code="seal-1", time=datetime(2026, 11, 27, tzinfo=timezone.utc), hash_algorithm="SM3",
        document_hash=crypto.document_digest(crypto.SM2, b"document"), properties={"k": "证照"}))
    signature = crypto.sign(crypto.SM2, signer, message)
    public = _public_point(pair.public_pem)
    assert sm2_verify(public, message, signature)
    assert not sm2_verify(public, message + b" ", signature)
    assert crypto.document_digest(crypto.SM2, b"abc") == \
        "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"  # GB/T 32905 example


def test_es256_seal_signature_verifies_with_plain_cryptography():
    pair = crypto.generate(crypto.ES256)
    signature = crypto.sign(crypto.ES256, crypto.load_signer(crypto.ES256, pair.private_pem), b"message")
    public = serialization.load_pem_public_key(pair.public_pem.encode())
    public.verify(signature, b"message", ec.ECDSA(hashes.SHA256()))  # raises if wrong
    assert not crypto.verify(crypto.ES256, pair.public_pem, b"other", signature)


def test_revocation_and_validity_rules():
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    seal = rules.SealState("revoked", start, start + timedelta(days=10), start + timedelta(days=5))
    assert rules.vouches_for(seal, start + timedelta(days=4)) == (True, "ok")
    assert rules.vouches_for(seal, start + timedelta(days=5)) == (False, "seal_revoked")
    assert rules.vouches_for(seal, start + timedelta(days=11))[1] == "seal_expired"
    assert rules.vouches_for(seal, start - timedelta(days=1))[1] == "seal_not_yet_valid"
    assert not rules.usable_at(seal, start + timedelta(days=1))

