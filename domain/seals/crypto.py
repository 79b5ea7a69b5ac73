"""The two seal algorithms, behind one small interface.

- ``SM2-SM3``: SM2 signature (GB/T 32918.2) with SM3, through tongsuopy (the Tongsuo binding). The
  signer's distinguishing identifier is the standard default ``1234567812345678`` (GB/T 35276),
  so the digest signed is SM3(Z_A || message) — what any SM2 implementation verifies by default.
- ``ES256``: ECDSA P-256 with SHA-256, through cryptography.

Signatures are DER ``SEQUENCE {r, s}`` for both. A key id is the first 8 bytes of SHA-256 over the
DER SubjectPublicKeyInfo, hex (as EU DCC trust lists do).
"""
from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature as _CryptographyInvalid
from cryptography.hazmat.primitives import hashes as c_hashes
from cryptography.hazmat.primitives import serialization as c_serialization
from cryptography.hazmat.primitives.asymmetric import ec as c_ec
from tongsuopy.crypto import hashes as t_hashes
from tongsuopy.crypto import serialization as t_serialization
from tongsuopy.crypto.asymciphers import ec as t_ec
from tongsuopy.crypto.exceptions import InvalidSignature as _TongsuoInvalid

from domain.seals.rules import ALGORITHMS, DOCUMENT_HASH, ES256, SM2  # noqa: F401  (the names, kept with the rules)


@dataclass(frozen=True)
class KeyPair:
    algorithm: str
    private_pem: bytes
    public_pem: str
    key_id: str


def generate(algorithm: str) -> KeyPair:
    lib = _lib(algorithm)
    private = lib.generate()
    pem = private.private_bytes(lib.ser.Encoding.PEM, lib.ser.PrivateFormat.PKCS8, lib.ser.NoEncryption())
    public_pem = _public_pem(lib, private.public_key())
    return KeyPair(algorithm=algorithm, private_pem=pem, public_pem=public_pem, key_id=key_id(public_pem))


def load_signer(algorithm: str, private_pem: bytes):
    """A private key object, parsed once by the caller and kept (parsing costs more than signing)."""
    lib = _lib(algorithm)
    return lib.ser.load_pem_private_key(private_pem, password=None)


def sign(algorithm: str, signer, message: bytes) -> bytes:
    return signer.sign(message, _lib(algorithm).scheme())


def verify(algorithm: str, public_pem: str, message: bytes, signature: bytes) -> bool:
    lib = _lib(algorithm)
    try:
        _public_key(algorithm, public_pem).verify(signature, message, lib.scheme())
    except (_CryptographyInvalid, _TongsuoInvalid, ValueError):
        return False
    return True


def document_digest(algorithm: str, document: bytes) -> str:
    """Hex digest of a document with the hash that pairs with the seal's algorithm."""
    if DOCUMENT_HASH[algorithm] == "SM3":
        digest = c_hashes.Hash(c_hashes.SM3())  # cryptography has SM3 (not SM2)
        digest.update(document)
        return digest.finalize().hex()
    return hashlib.sha256(document).hexdigest()


def key_id(public_pem: str) -> str:
    der = _der(public_pem)
    return hashlib.sha256(der).digest()[:8].hex()


def fingerprint(public_pem: str) -> str:
    """SHA-256 over the DER SubjectPublicKeyInfo, hex (64 characters): the trust anchor's pin. The
    key id is its first 16 characters — too short to pin a trust anchor by."""
    return hashlib.sha256(_der(public_pem)).hexdigest()


def _der(public_pem: str) -> bytes:
    body = "".join(line for line in public_pem.strip().splitlines() if not line.startswith("-----"))
    return base64.b64decode(body)


@functools.lru_cache(maxsize=4096)
def _public_key(algorithm: str, public_pem: str):
    return _lib(algorithm).ser.load_pem_public_key(public_pem.encode())


def _public_pem(lib, public) -> str:
    return public.public_bytes(lib.ser.Encoding.PEM, lib.ser.PublicFormat.SubjectPublicKeyInfo).decode()


@dataclass(frozen=True)
class _Lib:
    ser: object
    generate: object
    scheme: object


_LIBS = {
    SM2: _Lib(ser=t_serialization, generate=lambda: t_ec.generate_private_key(t_ec.SM2()),
              scheme=lambda: t_ec.ECDSA(t_hashes.SM3())),
    ES256: _Lib(ser=c_serialization, generate=lambda: c_ec.generate_private_key(c_ec.SECP256R1()),
                scheme=lambda: c_ec.ECDSA(c_hashes.SHA256())),
}


def _lib(algorithm: str) -> _Lib:
    try:
        return _LIBS[algorithm]
    except KeyError:
        raise ValueError(f"unknown seal algorithm {algorithm!r}") from None
