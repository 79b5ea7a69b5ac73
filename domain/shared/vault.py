"""Personal data at rest: AES-256-GCM to store, keyed HMAC-SHA256 to look up.

A stored value is ``v1:`` + base64(nonce || ciphertext || tag); the version prefix leaves room for
key rotation. Lookups never decrypt: the same ID number always gives the same HMAC, which the
database indexes, while the hash alone does not reveal the number without the key.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Vault:
    def __init__(self, *, data_key: bytes, lookup_key: bytes) -> None:
        if len(data_key) != 32 or len(lookup_key) != 32:
            raise ValueError("vault keys must be 32 bytes")
        self._aead = AESGCM(data_key)
        self._lookup_key = lookup_key

    def seal(self, plaintext: str, *, context: str) -> str:
        """Encrypt; ``context`` (e.g. "person.id_number") is bound as associated data."""
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return "v1:" + base64.b64encode(nonce + sealed).decode()

    def open(self, stored: str, *, context: str) -> str:
        raw = base64.b64decode(stored.removeprefix("v1:"))
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def lookup_hash(self, value: str, *, context: str) -> str:
        """A keyed hash to find a record by value without storing the value in clear."""
        mac = hmac.new(self._lookup_key, f"{context}:{value}".encode(), hashlib.sha256)
        return mac.hexdigest()
