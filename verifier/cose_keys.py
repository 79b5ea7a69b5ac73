"""The keys and signatures of HC1 credentials: which algorithm a signer's key may sign with, the
key inside an X.509 certificate (an SM2 one through tongsuopy), and the signature check itself.
Split from ``verifier/hcert.py`` (the format), importing nothing of the hub either."""
from __future__ import annotations

from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

ES256, PS256, SM2_SM3 = "ES256", "PS256", "SM2-SM3"
PSS_SALT_LENGTH = 32
MIN_RSA_BITS = 2048


class UnusableKey(ValueError):
    """A certificate whose key this verifier cannot load."""


def sm2():
    try:
        from tongsuopy.crypto import hashes as sm_hashes
        from tongsuopy.crypto.asymciphers import ec as sm_ec
        from tongsuopy.crypto.exceptions import InvalidSignature as SmInvalid
    except ImportError:  # an SM2 key cannot have been given without tongsuopy
        return None
    return sm_ec, sm_hashes, SmInvalid


def certificate_key(certificate: x509.Certificate) -> Any:
    """The certificate's public key; an SM2 one (which cryptography does not load) through tongsuopy."""
    try:
        return certificate.public_key()
    except (ValueError, UnsupportedAlgorithm):
        pass
    from asn1crypto import x509 as asn1_x509
    from tongsuopy.crypto import serialization as sm_serialization

    spki = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))["tbs_certificate"][
        "subject_public_key_info"].dump()
    try:
        return sm_serialization.load_der_public_key(spki)
    except Exception as exc:
        raise UnusableKey("the signer's certificate holds a key this verifier cannot use") from exc


def key_problem(alg: str, key: Any) -> str | None:
    if alg == ES256:
        if isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1":
            return None
        return "ES256 is not allowed for this signer's key (it needs a P-256 key)"
    if alg == PS256:
        if isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
            return None
        return f"PS256 is not allowed for this signer's key (it needs an RSA key of ≥ {MIN_RSA_BITS} bits)"
    tongsuo = sm2()
    if tongsuo is not None and isinstance(key, tongsuo[0].EllipticCurvePublicKey) and key.curve.name == "SM2":
        return None
    return "SM2-SM3 is not allowed for this signer's key (it needs an SM2 key)"


def raw_to_der(signature: bytes) -> bytes | None:
    if len(signature) != 64:
        return None
    return encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))


_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=PSS_SALT_LENGTH)
_SHA256 = hashes.SHA256()
_ECDSA_SHA256 = ec.ECDSA(_SHA256)  # made once: cryptography's parameter objects are immutable


def signature_ok(alg: str, key: Any, message: bytes, signature: bytes) -> bool:
    try:
        if alg == PS256:
            key.verify(signature, message, _PSS, _SHA256)
            return True
        der = raw_to_der(signature)
        if der is None:
            return False
        if alg == ES256:
            key.verify(der, message, _ECDSA_SHA256)
            return True
        sm_ec, sm_hashes, sm_invalid = sm2()
        try:
            key.verify(der, message, sm_ec.ECDSA(sm_hashes.SM3()))
        except sm_invalid:
            return False
        return True
    except (InvalidSignature, ValueError):
        return False
