"""Alipay's RSA2 rules, as pure functions: sign the request, verify the response.

Request: every parameter except ``sign`` with a non-empty value, sorted by name, joined as
``k=v`` with ``&``, signed SHA256withRSA (PKCS#1 v1.5), base64.
Response: Alipay signs the exact JSON text of the ``<method>_response`` (or ``error_response``)
value as it appears in the body, so that text is cut out of the body, never re-serialized.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def load_private_key(pem: bytes) -> rsa.RSAPrivateKey:
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("Alipay RSA2 needs an RSA private key")
    return key


def load_public_key(pem: bytes) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem)
    if not isinstance(key, rsa.RSAPublicKey):
        raise TypeError("Alipay RSA2 needs an RSA public key")
    return key


def content_to_sign(params: Mapping[str, str]) -> str:
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, ""))


def sign(private_key: rsa.RSAPrivateKey, content: str) -> str:
    signature = private_key.sign(content.encode("utf-8"), padding.PKCS1v15(), hashes.SHA256())
    return base64.b64encode(signature).decode("ascii")


def verify(public_key: rsa.RSAPublicKey, content: str, signature: str) -> bool:
    try:
        public_key.verify(
            base64.b64decode(signature, validate=True),
            content.encode("utf-8"),
            padding.PKCS1v15(),
            hashes.SHA256(),
        )
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def signed_value(body: str, key: str) -> str | None:
    """The raw JSON text of top-level ``key`` in ``body``, exactly as Alipay signed it."""
    match = re.search(r'"' + re.escape(key) + r'"\s*:\s*', body)
    if match is None:
        return None
    try:
        _, end = json.JSONDecoder().raw_decode(body, match.end())
    except json.JSONDecodeError:
        return None
    return body[match.end() : end]
