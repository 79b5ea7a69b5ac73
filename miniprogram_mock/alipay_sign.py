"""The gateway's side of Alipay RSA2 signatures.

Written independently of ``adapters/alipay/signing.py`` on purpose: two implementations of the
same published rules check each other, so a shared bug cannot make both sides agree.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def load_private(pem: bytes) -> rsa.RSAPrivateKey:
    return serialization.load_pem_private_key(pem, password=None)


def load_public(pem: bytes) -> rsa.RSAPublicKey:
    return serialization.load_pem_public_key(pem)


def request_sign_content(params: Mapping[str, str]) -> str:
    """Alipay's rule: every parameter but ``sign`` with a non-empty value, sorted by name."""
    pairs = sorted((k, v) for k, v in params.items() if k != "sign" and v not in (None, ""))
    return "&".join(f"{k}={v}" for k, v in pairs)


def verify(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        raw = base64.b64decode(signature, validate=True)
        public_key.verify(raw, content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    raw = private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(raw).decode()
