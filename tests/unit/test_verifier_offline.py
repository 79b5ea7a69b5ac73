"""The offline verifier on its own, with lists signed here by a stand-in anchor (ES256): the pin, the
seal binding, the bounded token lifetime and the replay memory (in a file, shared, expiring)."""
from __future__ import annotations

import base64
import hashlib
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from verifier.offline import AnchorMismatch, OfflineVerifier, canonical, fingerprint
from verifier.replay import FileReplay, MemoryReplay

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class Party:
    """A key pair as the trust list publishes one."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.pem = self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        self.kid = fingerprint(self.pem)[:16]

    def sign(self, message: bytes) -> bytes:
        return self.key.sign(message, ec.ECDSA(hashes.SHA256()))

    def envelope(self, payload: dict) -> dict:
        return {"payload": payload, "algorithm": "ES256", "key_id": self.kid,
                "signature": base64.b64encode(self.sign(canonical(payload))).decode()}

    def anchor(self) -> dict:
        return {"seal_id": "govhub-platform", "key_id": self.kid, "algorithm": "ES256", "public_key_pem": self.pem}

    def entry(self, department: str, types: list[str]) -> dict:
        return {"key_id": self.kid, "seal_id": "seal", "department_code": department, "license_types": types,
                "algorithm": "ES256", "public_key_pem": self.pem, "valid_from": "2026-01-01T00:00:00Z",
                "valid_until": "2031-01-01T00:00:00Z", "status": "active", "revoked_at": None, "version": 1}


@pytest.fixture
def world():
    anchor, seal = Party(), Party()
    verifier = OfflineVerifier(anchor=anchor.anchor(), pin=fingerprint(anchor.pem))
    verifier.load_trust_list(anchor.envelope({"type": "govhub-trust-list", "version": 1, "since": None,
                                              "issued_at": "2026-11-28T01:00:00Z",
                                              "entries": [seal.entry("110000-public_security", ["resident_id_card"])]}))
    epoch = int(NOW.timestamp()) // 3600
    verifier.load_status_list(anchor.envelope({
        "type": "govhub-status-list", "epoch": epoch, "bits": 4, "size": 1 << 20, "issued_at": "2026-11-28T02:00:00Z",
        "next_update": "2026-11-28T02:05:00Z", "list": _b64u(zlib.compress(bytes(1 << 19)))}))
    return type("World", (), dict(anchor=anchor, seal=seal, verifier=verifier, epoch=epoch))


def _token(world, *, typ="resident_id_card", iss="110000-public_security", lifetime=180, pid="p-1") -> str:
    disclosure = _b64u(canonical(["c2FsdA", "sex", "女"]))
    iat = int(NOW.timestamp())
    payload = {"v": 1, "typ": typ, "iss": iss, "kid": world.seal.kid, "pid": pid, "iat": iat, "exp": iat + lifetime,
               "st": [world.epoch, 7], "sd": _b64u(hashlib.sha256(disclosure.encode()).digest()[:16])}
    head = "GHP1." + _b64u(canonical(payload))
    return f"{head}.{_b64u(world.seal.sign(head.encode()))}~{disclosure}"


def test_an_honest_token_verifies_once(world):
    assert world.verifier.verify(_token(world), now=NOW).result == "valid"
    assert world.verifier.verify(_token(world), now=NOW).result == "replayed"


@pytest.mark.parametrize("changes, reason", [({"typ": "driving_license"}, "seal_not_for_type"),
                                             ({"iss": "310000-public_security"}, "seal_not_for_issuer"),
                                             ({"lifetime": 86400}, "lifetime_too_long")])
def test_a_token_outside_the_seals_binding_is_refused(world, changes, reason):
    checked = world.verifier.verify(_token(world, **changes), now=NOW)
    assert (checked.result, checked.reason) == ("invalid", reason)


def test_an_entry_without_a_binding_binds_nothing(world):
    entry = world.verifier.keys[world.seal.kid]
    del entry["license_types"]  # a trust list from before seals were typed
    assert world.verifier.verify(_token(world), now=NOW).reason == "seal_not_for_type"


def test_the_pin_is_the_full_fingerprint_of_the_anchors_key():
    anchor, other = Party(), Party()
    OfflineVerifier(anchor=anchor.anchor(), pin=fingerprint(anchor.pem).upper())
    with pytest.raises(AnchorMismatch, match="64 hex"):
        OfflineVerifier(anchor=anchor.anchor(), pin=anchor.kid)  # the key id is too short to pin by
    with pytest.raises(AnchorMismatch, match="not the pinned"):
        OfflineVerifier(anchor=other.anchor(), pin=fingerprint(anchor.pem))
    with pytest.raises(AnchorMismatch, match="key id"):
        OfflineVerifier(anchor={**anchor.anchor(), "key_id": other.kid}, pin=fingerprint(anchor.pem))
    with pytest.raises(AnchorMismatch):  # two keys in one PEM: what is fingerprinted must be what is used
        OfflineVerifier(anchor={**anchor.anchor(), "public_key_pem": other.pem + anchor.pem},
                        pin=fingerprint(anchor.pem))


def test_lists_signed_by_another_key_are_refused(world):
    intruder = Party()
    with pytest.raises(ValueError):
        world.verifier.load_trust_list({**intruder.envelope({"type": "govhub-trust-list", "version": 2,
                                                             "since": None, "entries": []}),
                                        "key_id": world.anchor.kid})


@pytest.mark.parametrize("memory", ["file", "memory"])
def test_the_replay_memory_forgets_ids_once_their_tokens_expired(tmp_path, memory):
    replay = FileReplay(tmp_path / "replay.sqlite3") if memory == "file" else MemoryReplay()
    now = int(NOW.timestamp())
    assert replay.first_time("a", expires_at=now + 180, now=now)
    assert not replay.first_time("a", expires_at=now + 180, now=now + 179)
    assert replay.first_time("b", expires_at=now + 400, now=now + 180)  # "a" expired: dropped
    if memory == "file":
        assert replay.held() == 1
        again = FileReplay(tmp_path / "replay.sqlite3")  # another process opening the same file
        assert not again.first_time("b", expires_at=now + 400, now=now + 200)


def test_a_status_list_without_its_type_is_not_taken_for_one(world):
    payload = {"type": "govhub-trust-list", "epoch": world.epoch, "list": "", "issued_at": "2026-11-28T02:00:00Z",
               "next_update": "2026-11-28T02:05:00Z"}
    with pytest.raises(ValueError):
        world.verifier.load_status_list(world.anchor.envelope(payload))
    assert world.verifier.verify(_token(world), now=NOW + timedelta(seconds=1)).result == "valid"
