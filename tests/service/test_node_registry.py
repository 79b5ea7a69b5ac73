"""NodeRegistry on the database: registration, status, and the order of checks of a signed request."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from domain.nodes import errors, signatures
from domain.nodes.service import NodeIdentity, NodeRegistry, hub_key
from domain.shared.clock import FrozenClock

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PATH = "/gov/v1/echo"


class MemoryNonces:
    """The NonceStore port, in memory: enough to test the registry's use of it."""

    def __init__(self) -> None:
        self.claimed: dict[tuple[str, str], int] = {}

    async def claim(self, node_code: str, nonce: str, ttl_seconds: int) -> bool:
        if (node_code, nonce) in self.claimed:
            return False
        self.claimed[(node_code, nonce)] = ttl_seconds
        return True


@pytest.fixture
async def registry(resources):  # ``resources``: the migrated database, emptied before each test
    return NodeRegistry(FrozenClock(NOW), MemoryNonces())


@pytest.fixture(scope="module")
def key():
    return ec.generate_private_key(ec.SECP256R1())


def _pem(key) -> str:
    return signatures.public_key_pem(key.public_key())


async def _register(registry, key, code="gd.province", **changes):
    fields = dict(code=code, kind="province", name="广东省政务服务平台", region_code="440000000000",
                  public_key_pem=_pem(key))
    return await registry.register(**{**fields, **changes})


def _headers(key, *, node="gd.province", body=b"{}", timestamp=None, nonce="nonce-0000000001", **over):
    timestamp = int(NOW.timestamp()) if timestamp is None else timestamp
    headers = signatures.signed_headers(private_key=key, node=node, method="POST", path=PATH, body=body,
                                        timestamp=timestamp, nonce=nonce)
    return {**headers, **over}


async def _auth(registry, headers, body=b"{}", path=PATH):
    return await registry.authenticate(method="POST", path=path, query_string="", headers=headers, body=body)


# --- registry -----------------------------------------------------------------------------------


async def test_register_stores_a_normalised_key_and_lists_nodes(registry, key):
    pem = _pem(key).encode()
    record = await _register(registry, key, public_key_pem=b"\n" + pem + b"\n\n")  # bytes, extra blank lines
    assert record.status == "active" and record.public_key_pem == _pem(key)
    assert record.key_id == signatures.key_id(key.public_key())
    await _register(registry, key, code="11100000000013127D", kind="department", name="公安部",
                    region_code="100000000000")
    assert [n.code for n in await registry.list()] == ["11100000000013127D", "gd.province"]
    assert (await registry.get("gd.province")).name == "广东省政务服务平台"


async def test_register_refuses_bad_fields_all_at_once(registry, key):
    with pytest.raises(errors.NodeInvalid) as caught:
        await registry.register(code="x", kind="city", name="", region_code="44",
                                public_key_pem="-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
    fields = [e["field"] for e in caught.value.extra["errors"]]
    assert fields == ["code", "kind", "name", "region_code", "public_key_pem"]
    assert await registry.list() == []


async def test_register_refuses_a_p384_key_and_the_hub_code(registry):
    with pytest.raises(errors.NodeInvalid):
        await _register(registry, ec.generate_private_key(ec.SECP384R1()), code="n1.test")
    with pytest.raises(errors.NodeInvalid):
        await _register(registry, ec.generate_private_key(ec.SECP256R1()), code="govhub")


async def test_a_code_is_registered_once(registry, key):
    await _register(registry, key)
    with pytest.raises(errors.NodeExists) as caught:
        await _register(registry, key, name="another")
    assert caught.value.kind == "conflict"
    assert (await registry.get("gd.province")).name == "广东省政务服务平台"


async def test_set_status_and_unknown_codes(registry, key):
    await _register(registry, key)
    assert (await registry.set_status(code="gd.province", status="disabled")).status == "disabled"
    assert (await registry.get("gd.province")).status == "disabled"
    with pytest.raises(errors.NodeInvalid):
        await registry.set_status(code="gd.province", status="deleted")
    with pytest.raises(errors.NodeNotFound):
        await registry.set_status(code="nobody", status="disabled")
    with pytest.raises(errors.NodeNotFound):
        await registry.get("nobody")


def test_hub_key_publishes_the_public_half_only():
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    published = hub_key(pem)
    assert published.node_code == "govhub" and "PRIVATE" not in published.public_key_pem
    assert published.key_id == signatures.key_id(key.public_key())


# --- authenticate ------------------------------------------------------------------------------


async def test_a_signed_request_names_its_node_and_claims_its_nonce(registry, key):
    await _register(registry, key)
    identity = await _auth(registry, _headers(key))
    assert identity == NodeIdentity(code="gd.province", kind="province", name="广东省政务服务平台",
                                    region_code="440000000000")
    assert registry._nonces.claimed == {("gd.province", "nonce-0000000001"): 660}


async def test_header_names_are_case_insensitive(registry, key):
    await _register(registry, key)
    lowered = {k.lower(): v for k, v in _headers(key).items()}
    assert (await _auth(registry, lowered)).code == "gd.province"


@pytest.mark.parametrize("offset", [-300, 300])
async def test_the_window_boundary_is_accepted(registry, key, offset):
    await _register(registry, key)
    assert await _auth(registry, _headers(key, timestamp=int(NOW.timestamp()) + offset))


@pytest.mark.parametrize("offset", [-301, 301])
async def test_one_second_past_the_window_is_stale(registry, key, offset):
    await _register(registry, key)
    with pytest.raises(errors.NodeTimestampStale) as caught:
        await _auth(registry, _headers(key, timestamp=int(NOW.timestamp()) + offset))
    assert caught.value.extra["server_time"] == int(NOW.timestamp())


async def test_the_clock_moving_on_makes_a_request_stale(registry, key):
    await _register(registry, key)
    headers = _headers(key)
    registry._clock.advance(301)
    with pytest.raises(errors.NodeTimestampStale):
        await _auth(registry, headers)


async def test_a_replay_is_refused(registry, key):
    await _register(registry, key)
    headers = _headers(key)
    await _auth(registry, headers)
    with pytest.raises(errors.NodeNonceReplayed):
        await _auth(registry, headers)


async def test_a_forgery_does_not_burn_the_nonce(registry, key):
    await _register(registry, key)
    forger = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(errors.NodeSignatureInvalid) as caught:
        await _auth(registry, _headers(forger))
    assert caught.value.extra["string_to_sign"].startswith("GOVHUB-SIG-V1\ngd.province\nPOST\n/gov/v1/echo\n")
    assert registry._nonces.claimed == {}
    assert await _auth(registry, _headers(key))  # the same nonce, properly signed, still passes


async def test_the_signature_covers_body_and_path(registry, key):
    await _register(registry, key)
    with pytest.raises(errors.NodeSignatureInvalid):
        await _auth(registry, _headers(key), body=b'{"a":1}')
    with pytest.raises(errors.NodeSignatureInvalid):
        await _auth(registry, _headers(key, nonce="nonce-0000000002"), path="/gov/v1/whoami")


async def test_checks_run_in_order(registry, key):
    await _register(registry, key)
    stale_and_forged = _headers(ec.generate_private_key(ec.SECP256R1()), timestamp=1)
    with pytest.raises(errors.NodeTimestampStale):  # the clock is checked before the signature
        await _auth(registry, stale_and_forged)
    await registry.set_status(code="gd.province", status="disabled")
    with pytest.raises(errors.NodeDisabled):  # status before the clock
        await _auth(registry, stale_and_forged)
    with pytest.raises(errors.NodeUnknown):
        await _auth(registry, _headers(key, node="nobody.here"))
    with pytest.raises(errors.NodeHeadersInvalid) as caught:  # format before the registry
        await _auth(registry, _headers(key, node="no body", **{"X-Gov-Nonce": "short"}))
    assert caught.value.extra["invalid"] == ["X-Gov-Node", "X-Gov-Nonce"]


async def test_missing_headers_are_named(registry, key):
    headers = _headers(key)
    del headers["X-Gov-Signature"]
    headers["X-Gov-Nonce"] = ""
    with pytest.raises(errors.NodeHeadersMissing) as caught:
        await _auth(registry, headers)
    assert caught.value.extra["missing"] == ["X-Gov-Nonce", "X-Gov-Signature"]
    assert caught.value.kind == "unauthorized"
