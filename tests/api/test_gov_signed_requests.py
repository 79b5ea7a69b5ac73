"""``/gov/v1`` through the in-process hub: signed requests pass, every kind of bad one gets its 401."""
from __future__ import annotations

import json
import re
from types import SimpleNamespace
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from adapters.departments.node_client import SignedNodeClient
from domain.nodes import signatures
from tests.support.clock import suite_clock

ROOT = Path(__file__).resolve().parents[2]
NODE = "gd.province"


def _private_pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@pytest.fixture
async def key(resources):
    """A fresh key, registered as the node ``gd.province``."""
    private = ec.generate_private_key(ec.SECP256R1())
    await resources.nodes.register(code=NODE, kind="province", name="广东省政务服务平台",
                                               region_code="440000000000",
                                               public_key_pem=signatures.public_key_pem(private.public_key()))
    return private


def _signed(client, key, method, url, *, body=b"", node=NODE, timestamp=None, nonce=None, sign_body=None):
    """Build and sign a request like a node would; ``sign_body`` signs other bytes than those sent."""
    request = client.build_request(method, url, content=body)
    path, _, query = request.url.raw_path.decode().partition("?")
    request.headers.update(signatures.signed_headers(
        private_key=key, node=node, method=method, path=path, query_string=query,
        body=body if sign_body is None else sign_body,
        timestamp=int(suite_clock.timestamp()) if timestamp is None else timestamp, nonce=nonce))
    return request


def _assert_refused(response: httpx.Response, code: str) -> dict:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["www-authenticate"].startswith("GOVHUB-SIG-V1 ")
    assert response.headers["x-request-id"]  # the refusal still passes through the app's response hooks
    problem = response.json()
    assert problem["code"] == code and problem["status"] == 401 and problem["title"]
    return problem


async def test_a_signed_get_names_the_node(client, key):
    response = await client.send(_signed(client, key, "GET", "/gov/v1/whoami"))
    assert response.status_code == 200, response.text
    assert response.json() == {"code": NODE, "kind": "province", "name": "广东省政务服务平台",
                               "region_code": "440000000000"}
    assert response.headers["x-request-id"]


async def test_a_signed_post_echoes_the_hubs_digest(client, key):
    body = json.dumps({"事项": "出生登记"}, ensure_ascii=False).encode()
    response = await client.send(_signed(client, key, "POST", "/gov/v1/echo?z=1&a=%E7%A4%BE", body=body))
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["body_sha256"] == signatures.body_digest(body) and answer["body_bytes"] == len(body)
    assert answer["target"] == "/gov/v1/echo?a=%E7%A4%BE&z=1"
    assert answer["string_to_sign"].splitlines()[1:4] == [NODE, "POST", "/gov/v1/echo?a=%E7%A4%BE&z=1"]


async def test_another_key_is_refused_with_the_expected_string(client, key):
    forger = ec.generate_private_key(ec.SECP256R1())
    response = await client.send(_signed(client, forger, "GET", "/gov/v1/whoami"))
    problem = _assert_refused(response, "node_signature_invalid")
    assert problem["string_to_sign"].startswith(f"GOVHUB-SIG-V1\n{NODE}\nGET\n/gov/v1/whoami\n")


async def test_a_body_changed_after_signing_is_refused(client, key):
    request = _signed(client, key, "POST", "/gov/v1/echo", body=b'{"amount":100}', sign_body=b'{"amount":1}')
    _assert_refused(await client.send(request), "node_signature_invalid")


async def test_a_replayed_request_is_refused(client, key):
    first = _signed(client, key, "POST", "/gov/v1/echo", body=b"{}", nonce="replay-nonce-0001")
    assert (await client.send(first)).status_code == 200
    again = client.build_request("POST", "/gov/v1/echo", content=b"{}", headers=dict(first.headers))
    _assert_refused(await client.send(again), "node_nonce_replayed")


@pytest.mark.parametrize("offset", [-400, 400], ids=["older", "future"])
async def test_a_stale_timestamp_is_refused(client, key, offset):
    request = _signed(client, key, "GET", "/gov/v1/whoami", timestamp=int(suite_clock.timestamp()) + offset)
    problem = _assert_refused(await client.send(request), "node_timestamp_stale")
    assert abs(problem["server_time"] - suite_clock.timestamp()) < 60


async def test_an_unknown_node_is_refused(client, key):
    stranger = ec.generate_private_key(ec.SECP256R1())
    _assert_refused(await client.send(_signed(client, stranger, "GET", "/gov/v1/whoami", node="sz.city")),
                    "node_unknown")


async def test_a_disabled_node_is_refused(client, key, resources):
    await resources.nodes.set_status(code=NODE, status="disabled")
    _assert_refused(await client.send(_signed(client, key, "GET", "/gov/v1/whoami")), "node_disabled")


async def test_unsigned_and_malformed_requests_are_refused(client, key):
    problem = _assert_refused(await client.get("/gov/v1/whoami"), "node_headers_missing")
    assert problem["missing"] == ["X-Gov-Node", "X-Gov-Timestamp", "X-Gov-Nonce", "X-Gov-Signature"]
    request = _signed(client, key, "GET", "/gov/v1/whoami")
    request.headers["X-Gov-Timestamp"] = "2026-01-01T00:00:00Z"
    problem = _assert_refused(await client.send(request), "node_headers_invalid")
    assert problem["invalid"] == ["X-Gov-Timestamp"]


async def test_the_hub_key_is_public_and_is_the_configured_key(client, settings):
    response = await client.get("/gov/v1/hub-key")
    assert response.status_code == 200
    published = response.json()
    private = signatures.load_private_key(Path(settings.node_key_path).read_bytes())
    assert published["public_key_pem"] == signatures.public_key_pem(private.public_key())
    assert published["key_id"] == signatures.key_id(private.public_key())
    assert published["node_code"] == "govhub"
    assert (ROOT / "devkeys" / "hub_node_public.pem").read_text() == published["public_key_pem"]


async def test_the_openapi_document_marks_gov_routes_as_signed(client):
    spec = (await client.get("/openapi.json")).json()
    whoami = spec["paths"]["/gov/v1/whoami"]["get"]
    assert whoami["security"] == [{"govNodeSignature": []}] and "401" in whoami["responses"]
    assert "govNodeSignature" in spec["components"]["securitySchemes"]
    assert not spec["paths"]["/gov/v1/hub-key"]["get"].get("security")


async def test_the_hubs_own_client_signs_as_a_node_would(client, key):
    node = SignedNodeClient(base_url="http://hub.test/", hub_node_code=NODE,
                            private_key_pem=_private_pem(key), http=client, retry_delays=(),
                            now=suite_clock.timestamp)
    response = await node.request("POST", "/gov/v1/echo?b=2&a=1", json={"姓名": "张丽"})
    assert response.status_code == 200, response.text
    assert response.json()["body_sha256"] == signatures.body_digest('{"姓名":"张丽"}'.encode())


def _docs_example() -> dict:
    docs = (ROOT / "docs" / "nodes.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", docs, flags=re.DOTALL)
    assert len(blocks) == 1, "docs/nodes.md should hold one Python example"
    namespace = {"__name__": "docs_nodes_example"}
    exec(compile(blocks[0], "docs/nodes.md", "exec"), namespace)
    namespace["time"] = SimpleNamespace(time=suite_clock.timestamp)  # the example reads the suite's clock
    return namespace


async def test_the_documented_signer_passes(client, key):
    auth = _docs_example()["GovHubAuth"](NODE, key)
    assert (await client.get("/gov/v1/whoami?b=1&a=2", auth=auth)).json()["code"] == NODE
    response = await client.post("/gov/v1/echo", json={"hello": "世界"}, auth=auth)
    assert response.status_code == 200, response.text


async def test_the_documented_verifier_accepts_the_hubs_calls_only(client, resources):
    verify_hub_call = _docs_example()["verify_hub_call"]
    hub_public = signatures.load_public_key((await client.get("/gov/v1/hub-key")).json()["public_key_pem"])
    hub = resources.node_client_factory(base_url="https://node.example/api")
    request = hub.build("POST", "/callbacks/licenses?b=2&a=1", b'{"event_id":"e1"}')
    seen: set[str] = set()

    def claim(nonce: str) -> bool:
        fresh = nonce not in seen
        seen.add(nonce)
        return fresh

    raw_path = request.url.raw_path.decode()  # as the node reads it off its request line

    def check(body: bytes = request.content, path: str = raw_path) -> bool:
        return verify_hub_call(hub_public, "POST", path, request.headers, body, claim)

    assert raw_path == "/api/callbacks/licenses?b=2&a=1"
    assert not check(body=b'{"event_id":"e2"}') and not check(path="/api/callbacks/other")
    assert check()
    assert not check()  # the same call again is a replay
    await hub.aclose()
