"""The offline verifier's cache (issue #12, item 5): every cached file is checked against the pinned
anchor when loaded — a key written into the cache, or a substitute anchor, is refused — and the
memory of accepted presentations lives in the cache, across runs and across processes."""
from __future__ import annotations

import base64
import json
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.citizens import ALICE, bearer, face_scan, login_wechat, verify_real_name
from tests.support.licenses import PSB_DEPARTMENT, anchor_pin, department, issue
from tests.support.live_hub import REPO_ROOT
from verifier import cache as cached
from verifier.offline import OfflineVerifier, canonical, fingerprint

CHECK = """import sys
from datetime import datetime
from verifier import cache
verifier = cache.load(sys.argv[1], sys.argv[2])
print(verifier.verify(sys.argv[3], now=datetime.fromisoformat(sys.argv[4])).result)
"""


@pytest.fixture
async def shown(client, resources, mock_url, tmp_path) -> dict:
    """Alice's ID card shown (name and sex), and a verifier cache filled from what the hub publishes."""
    psb = await department(resources)
    issued = await issue(client, psb)
    session = await login_wechat(client, mock_url)
    await verify_real_name(client, "/wx/v1", session, ALICE)
    headers = await face_scan(client, "/wx/v1", bearer(session))
    made = await client.post(f"/wx/v1/licenses/{issued['id']}/presentations", json={"fields": ["name", "sex"]},
                             headers=headers)
    assert made.status_code == 201, made.text
    token, pin = made.json()["token"], await anchor_pin(resources)
    verifier = OfflineVerifier(anchor=(await client.get("/public/v1/trust-anchor")).json(), pin=pin,
                               replay=cached.replay_memory(tmp_path))
    verifier.load_trust_list((await client.get("/public/v1/trust-list")).json())
    epoch = _payload(token)["st"][0]
    verifier.load_status_list((await client.get(f"/public/v1/status-lists/{epoch}")).json())
    cached.save(tmp_path, verifier)
    return {"token": token, "pin": pin, "now": resources.clock.now(), "cache": tmp_path}


def _payload(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def _b64u(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _attacker() -> tuple[ec.EllipticCurvePrivateKey, str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return key, pem, fingerprint(pem)[:16]


def _forge(key, kid: str, honest: str) -> str:
    """The attacker's own token: the honest token's payload, the attacker's key id and signature."""
    payload = {**_payload(honest), "kid": kid}
    head = "GHP1." + _b64u(canonical(payload))
    signature = key.sign(head.encode(), ec.ECDSA(hashes.SHA256()))
    return head + "." + _b64u(signature) + "~" + honest.split("~", 1)[1]


def _entry(pem: str, kid: str) -> dict:
    return {"key_id": kid, "seal_id": "seal-forged", "department_code": PSB_DEPARTMENT,
            "department_kind": "public_security", "node_code": "bj-psb", "license_types": ["resident_id_card"],
            "name": "伪造", "algorithm": "ES256", "public_key_pem": pem, "valid_from": "2000-01-01T00:00:00Z",
            "valid_until": "2100-01-01T00:00:00Z", "status": "active", "revoked_at": None, "version": 1}


def _cli_check(shown: dict, token: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier", "check", "--anchor", shown["pin"], "--cache",
                           str(shown["cache"]), token], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)


async def test_a_key_written_into_the_cache_is_refused(shown):
    """As the attacker did: their key in the cached trust list made their forged token pass."""
    key, pem, kid = _attacker()
    forged = _forge(key, kid, shown["token"])
    trust_file = shown["cache"] / cached.TRUST
    honest = trust_file.read_text()
    assert cached.load(shown["cache"], shown["pin"]).verify(forged, now=shown["now"]).reason == "unknown_issuer_key"
    trust = json.loads(honest)
    trust["lists"][0]["payload"]["entries"].append(_entry(pem, kid))
    trust_file.write_text(json.dumps(trust))
    with pytest.raises(cached.CacheInvalid) as refused:
        cached.load(shown["cache"], shown["pin"])
    assert refused.value.name == cached.TRUST
    # the cache as it was before (unsigned keys): refused too
    trust_file.write_text(json.dumps({"version": 9, "keys": {kid: _entry(pem, kid)}}))
    with pytest.raises(cached.CacheInvalid):
        cached.load(shown["cache"], shown["pin"])
    checked = _cli_check(shown, forged)
    assert checked.returncode == 2 and json.loads(checked.stdout)["result"] == "cache_invalid", checked.stdout
    trust_file.write_text(honest)
    assert cached.load(shown["cache"], shown["pin"]).verify(shown["token"], now=shown["now"]).result == "valid"


async def test_a_substitute_anchor_is_refused(shown):
    """The attacker replaces the anchor with their own key and signs a trust list with it."""
    key, pem, kid = _attacker()
    (shown["cache"] / cached.ANCHOR).write_text(json.dumps({"seal_id": "govhub-platform", "key_id": kid,
                                                            "algorithm": "ES256", "public_key_pem": pem}))
    payload = {"type": "govhub-trust-list", "version": 1, "since": None, "issued_at": "2026-01-01T00:00:00Z",
               "entries": [_entry(pem, kid)]}
    envelope = {"payload": payload, "algorithm": "ES256", "key_id": kid,
                "signature": base64.b64encode(key.sign(canonical(payload), ec.ECDSA(hashes.SHA256()))).decode()}
    (shown["cache"] / cached.TRUST).write_text(json.dumps({"lists": [envelope]}))
    with pytest.raises(cached.CacheInvalid) as refused:
        cached.load(shown["cache"], shown["pin"])
    assert refused.value.name == cached.ANCHOR and "not the pinned" in refused.value.reason
    assert _cli_check(shown, _forge(key, kid, shown["token"])).returncode == 2


async def test_a_status_list_that_fails_its_signature_is_refused(shown):
    status_file = shown["cache"] / cached.STATUS
    lists = json.loads(status_file.read_text())
    lists[0]["payload"]["list"] = _b64u(zlib.compress(b"\x33" * (1 << 19)))  # "everything revoked"
    status_file.write_text(json.dumps(lists))
    with pytest.raises(cached.CacheInvalid) as refused:
        cached.load(shown["cache"], shown["pin"])
    assert refused.value.name == cached.STATUS


async def test_the_replay_memory_outlives_a_verifier_run(shown):
    first = cached.load(shown["cache"], shown["pin"]).verify(shown["token"], now=shown["now"])
    assert first.result == "valid"
    second = cached.load(shown["cache"], shown["pin"]).verify(shown["token"], now=shown["now"])  # a new run
    assert (second.result, second.reason) == ("replayed", "seen_before")


async def test_verifier_processes_sharing_a_cache_accept_a_token_once(shown):
    def run(_: int) -> str:
        done = subprocess.run([sys.executable, "-c", CHECK, str(shown["cache"]), shown["pin"], shown["token"],
                               shown["now"].isoformat()], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip()

    with ThreadPoolExecutor(4) as pool:
        results = sorted(pool.map(run, range(4)))
    assert results == ["replayed", "replayed", "replayed", "valid"]
