"""Offline verification of a GHP1 token against a cached trust list and status lists.

Independent of the hub's code on purpose: it re-implements the documented format (docs/licenses.md)
with cryptography (ES256) and tongsuopy (SM2 with SM3, default ID 1234567812345678).
"""
from __future__ import annotations

import base64
import hashlib
import json
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

STATUS_NAMES = {2: "suspended", 3: "revoked", 4: "withdrawn", 5: "cancelled", 6: "expired"}


@dataclass
class Result:
    result: str  # valid | invalid | expired | replayed | status_unknown | suspended | revoked | ...
    reason: str
    fields: dict[str, Any] = field(default_factory=dict)
    license_type: str | None = None
    issuer: str | None = None


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def check_signature(algorithm: str, public_pem: str, message: bytes, signature: bytes) -> bool:
    try:
        if algorithm == "ES256":
            key = serialization.load_pem_public_key(public_pem.encode())
            key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
            return True
        if algorithm == "SM2-SM3":
            from tongsuopy.crypto import hashes as sm_hashes
            from tongsuopy.crypto import serialization as sm_serialization
            from tongsuopy.crypto.asymciphers import ec as sm_ec
            from tongsuopy.crypto.exceptions import InvalidSignature as SmInvalid

            key = sm_serialization.load_pem_public_key(public_pem.encode())
            try:
                key.verify(signature, message, sm_ec.ECDSA(sm_hashes.SM3()))
            except SmInvalid:
                return False
            return True
    except (InvalidSignature, ValueError):
        return False
    return False


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)


class OfflineVerifier:
    """Holds what was downloaded: the pinned trust anchor, the trust list, the status lists."""

    def __init__(self, *, anchor: dict[str, str]) -> None:
        self.anchor = anchor  # {"key_id", "algorithm", "public_key_pem"}: pinned out of band
        self.trust_version = 0
        self.keys: dict[str, dict[str, Any]] = {}
        self.status_lists: dict[int, dict[str, Any]] = {}
        self.seen: set[str] = set()  # presentation ids already accepted here (replays)

    # --- loading signed downloads --------------------------------------------------------

    def _open(self, envelope: dict[str, Any]) -> dict[str, Any]:
        if envelope.get("key_id") != self.anchor["key_id"]:
            raise ValueError("not signed by the pinned trust anchor")
        ok = check_signature(self.anchor["algorithm"], self.anchor["public_key_pem"], canonical(envelope["payload"]),
                             base64.b64decode(envelope["signature"]))
        if not ok:
            raise ValueError("bad signature on a downloaded list")
        return envelope["payload"]

    def load_trust_list(self, envelope: dict[str, Any]) -> None:
        """A full list (``since`` null) replaces; a delta updates the entries it names."""
        payload = self._open(envelope)
        if payload["since"] is None:
            self.keys = {}
        elif payload["since"] != self.trust_version:
            raise ValueError("delta does not follow the version held")
        for entry in payload["entries"]:
            self.keys[entry["key_id"]] = entry
        self.trust_version = payload["version"]

    def load_status_list(self, envelope: dict[str, Any]) -> None:
        payload = self._open(envelope)
        payload = {**payload, "_packed": zlib.decompress(unb64u(payload["list"]))}
        held = self.status_lists.get(payload["epoch"])
        if held is None or parse_time(held["issued_at"]) <= parse_time(payload["issued_at"]):
            self.status_lists[payload["epoch"]] = payload

    # --- checking a token ----------------------------------------------------------------

    def verify(self, token: str, now: datetime | None = None) -> Result:
        now = now or datetime.now(timezone.utc)
        try:
            head, *disclosures = token.strip().split("~")
            prefix, body, signature = head.split(".")
            payload = json.loads(unb64u(body))
            signature_bytes = unb64u(signature)
            if prefix != "GHP1":
                raise ValueError(prefix)
        except (ValueError, TypeError):
            return Result("invalid", "malformed")
        key = self.keys.get(payload.get("kid"))
        if key is None:
            return Result("invalid", "unknown_issuer_key")
        if not check_signature(key["algorithm"], key["public_key_pem"], f"{prefix}.{body}".encode("ascii"),
                               signature_bytes):
            return Result("invalid", "bad_signature")
        issued = datetime.fromtimestamp(payload["iat"], timezone.utc)
        if key["revoked_at"] and issued >= parse_time(key["revoked_at"]) or \
                not parse_time(key["valid_from"]) <= issued < parse_time(key["valid_until"]):
            return Result("invalid", "issuer_key_not_valid_then")
        base = {"license_type": payload.get("typ"), "issuer": payload.get("iss")}
        digests = unb64u(payload["sd"])
        signed = {digests[i:i + 16] for i in range(0, len(digests), 16)}
        fields = {}
        for disclosure in filter(None, disclosures):
            if hashlib.sha256(disclosure.encode("ascii")).digest()[:16] not in signed:
                return Result("invalid", "disclosure_mismatch", **base)
            _salt, name, value = json.loads(unb64u(disclosure))
            fields[name] = value
        if now.timestamp() >= payload["exp"]:
            return Result("expired", "token_expired", **base)
        epoch, slot = payload["st"]
        listed = self.status_lists.get(epoch)
        if listed is None or now >= parse_time(listed["next_update"]):
            return Result("status_unknown", "no_fresh_status_list", **base)  # never "valid" without one
        packed = listed["_packed"]
        nibble = packed[slot // 2] & 0x0F if slot % 2 else packed[slot // 2] >> 4
        if nibble:
            return Result(STATUS_NAMES.get(nibble, "invalid"), "status_list", **base)
        if payload["pid"] in self.seen:
            return Result("replayed", "seen_before", **base)
        self.seen.add(payload["pid"])
        return Result("valid", "ok", fields=fields, **base)
