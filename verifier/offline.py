"""Offline verification of a GHP1 token against a cached trust list and status lists.

Independent of the hub's code on purpose: it re-implements the documented format (docs/licenses.md)
with cryptography (ES256) and tongsuopy (SM2 with SM3, default ID 1234567812345678).

Trust starts from one pin: the SHA-256 fingerprint of the trust anchor's public key, given by
whoever runs the verifier (command line or environment), never read from what was downloaded. The
anchor must match it; the trust list and status lists must be signed by the anchor; a token's seal
must be in the trust list *and bound to the token's issuer and license type* (a seal vouches only
for what its entry says it may sign), and valid when the token was made.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from verifier.replay import MemoryReplay

STATUS_NAMES = {2: "suspended", 3: "revoked", 4: "withdrawn", 5: "cancelled", 6: "expired"}
# The hub makes tokens that live 3 minutes; one claiming much longer is not one of its showings,
# and it would make the replay memory keep its id that long.
MAX_LIFETIME_SECONDS = 300


class AnchorMismatch(ValueError):
    """The anchor's public key is not the pinned one."""


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


UTC_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


@lru_cache(maxsize=16_384)
def parse_time(text: str) -> datetime:
    """``YYYY-MM-DDTHH:MM:SSZ`` exactly. Remembered: a verifier reads the same list times on every
    check (keys' and rules' validity), and strptime was a fifth of a health check (bench/health_bench.py)."""
    if not isinstance(text, str) or not UTC_TEXT.fullmatch(text):
        raise ValueError(f"not a UTC time YYYY-MM-DDTHH:MM:SSZ: {text!r}")
    return datetime.fromisoformat(text[:-1]).replace(tzinfo=timezone.utc)


def public_key_der(public_pem: str) -> bytes:
    """The DER SubjectPublicKeyInfo of a PEM holding exactly one public key (nothing else, so that
    what is fingerprinted is what is used)."""
    lines = [line.strip() for line in public_pem.strip().splitlines()]
    if len(lines) < 3 or lines[0] != "-----BEGIN PUBLIC KEY-----" or lines[-1] != "-----END PUBLIC KEY-----":
        raise AnchorMismatch("not a single PEM public key")
    try:
        return base64.b64decode("".join(lines[1:-1]), validate=True)
    except (binascii.Error, ValueError):
        raise AnchorMismatch("not a single PEM public key") from None


def fingerprint(public_pem: str) -> str:
    """SHA-256 of the DER SubjectPublicKeyInfo, hex: what is pinned. (The key id is its first 16
    characters: too short to pin by.)"""
    return hashlib.sha256(public_key_der(public_pem)).hexdigest()


def check_anchor(anchor: dict[str, Any], pin: str) -> None:
    """The anchor is the pinned key, and its key id is the one derived from it."""
    if not isinstance(pin, str) or len(pin.strip()) != 64:
        raise AnchorMismatch("pin the anchor's full SHA-256 fingerprint (64 hex characters), not its key id")
    if not isinstance(anchor, dict) or not isinstance(anchor.get("public_key_pem"), str):
        raise AnchorMismatch("the anchor has no public key")
    found = fingerprint(anchor["public_key_pem"])
    if found != pin.strip().lower():
        raise AnchorMismatch(f"the trust anchor's key {found} is not the pinned {pin}")
    if anchor.get("key_id") != found[:16]:
        raise AnchorMismatch("the anchor's key id does not belong to its key")


def open_signed(envelope: Any, anchor: dict[str, Any]) -> dict[str, Any]:
    """The payload of a list the pinned ``anchor`` signed; ValueError for anything else."""
    try:
        if envelope.get("key_id") != anchor["key_id"]:
            raise ValueError("not signed by the pinned trust anchor")
        ok = check_signature(anchor["algorithm"], anchor["public_key_pem"],
                             canonical(envelope["payload"]), base64.b64decode(envelope["signature"]))
    except (AttributeError, KeyError, TypeError, binascii.Error) as exc:
        raise ValueError("not a signed list") from exc
    if not ok or not isinstance(envelope["payload"], dict):
        raise ValueError("the list's signature is not the pinned trust anchor's")
    return envelope["payload"]


class OfflineVerifier:
    """Holds what was downloaded: the pinned trust anchor, the trust list, the status lists — each
    checked as it is loaded — and a memory of the presentation ids it accepted."""

    def __init__(self, *, anchor: dict[str, str], pin: str, replay=None) -> None:
        check_anchor(anchor, pin)
        self.anchor = anchor  # {"key_id", "algorithm", "public_key_pem"}: the key the pin names
        self.trust_version = 0
        self.keys: dict[str, dict[str, Any]] = {}
        self.trust_lists: list[dict[str, Any]] = []  # the signed lists behind ``keys``: a full one, deltas
        self.status_lists: dict[int, dict[str, Any]] = {}
        self.status_envelopes: dict[int, dict[str, Any]] = {}
        self.replay = replay if replay is not None else MemoryReplay()  # ids accepted before (replays)

    # --- loading signed downloads --------------------------------------------------------

    def _open(self, envelope: dict[str, Any]) -> dict[str, Any]:
        return open_signed(envelope, self.anchor)

    def load_trust_list(self, envelope: dict[str, Any]) -> None:
        """A full list (``since`` null) replaces; a delta updates the entries it names."""
        payload = self._open(envelope)
        if payload.get("type") != "govhub-trust-list":
            raise ValueError("not a trust list")
        if payload["since"] is None:
            self.keys, self.trust_lists = {}, []
        elif payload["since"] != self.trust_version:
            raise ValueError("delta does not follow the version held")
        if payload["since"] is not None and not payload["entries"] and payload["version"] == self.trust_version:
            return  # nothing changed: no need to keep this delta
        for entry in payload["entries"]:
            self.keys[entry["key_id"]] = entry
        self.trust_version = payload["version"]
        self.trust_lists.append(envelope)

    def load_status_list(self, envelope: dict[str, Any]) -> None:
        payload = self._open(envelope)
        if payload.get("type") != "govhub-status-list":
            raise ValueError("not a status list")
        payload = {**payload, "_packed": zlib.decompress(unb64u(payload["list"]))}
        held = self.status_lists.get(payload["epoch"])
        if held is None or parse_time(held["issued_at"]) <= parse_time(payload["issued_at"]):
            self.status_lists[payload["epoch"]] = payload
            self.status_envelopes[payload["epoch"]] = envelope

    # --- checking a token ----------------------------------------------------------------

    def verify(self, token: str, now: datetime | None = None) -> Result:
        now = now or datetime.now(timezone.utc)
        try:
            head, *disclosures = token.strip().split("~")
            prefix, body, signature = head.split(".")
            payload = json.loads(unb64u(body))
            signature_bytes = unb64u(signature)
            if prefix != "GHP1" or not token.isascii() or not isinstance(payload, dict):
                raise ValueError(prefix)
        except (ValueError, TypeError, AttributeError):
            return Result("invalid", "malformed")
        key = self.keys.get(payload.get("kid"))
        if key is None:
            return Result("invalid", "unknown_issuer_key")
        if not check_signature(key["algorithm"], key["public_key_pem"], f"{prefix}.{body}".encode("ascii"),
                               signature_bytes):
            return Result("invalid", "bad_signature")
        unbound = binding_problem(key, payload)
        if unbound:
            return Result("invalid", unbound)
        issued = datetime.fromtimestamp(payload["iat"], timezone.utc)
        if key["revoked_at"] and issued >= parse_time(key["revoked_at"]) or \
                not parse_time(key["valid_from"]) <= issued < parse_time(key["valid_until"]):
            return Result("invalid", "issuer_key_not_valid_then")
        if payload["exp"] - payload["iat"] > MAX_LIFETIME_SECONDS:
            return Result("invalid", "lifetime_too_long")
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
        if not self.replay.first_time(str(payload["pid"]), expires_at=int(payload["exp"]), now=int(now.timestamp())):
            return Result("replayed", "seen_before", **base)
        return Result("valid", "ok", fields=fields, **base)


def binding_problem(key: dict[str, Any], payload: dict[str, Any]) -> str | None:
    """Is the seal bound to the token's issuer and license type? (An entry without a binding binds
    nothing.)"""
    if payload.get("iss") != key.get("department_code"):
        return "seal_not_for_issuer"
    types = key.get("license_types")
    if not isinstance(types, list) or payload.get("typ") not in types:
        return "seal_not_for_type"
    return None
