"""The exchange over real HTTP (docs/sharing.md): a court calls the public-security bureau's
household extract through ``/r1``, the department stub answering as the provider. No call crosses
without a grant; only granted fields leave; quotas hold under concurrency; a revocation holds on the
next call; a provider down or slow is a clear 502/504; replayed and forged requests are refused;
every call is in the message log and a citizen's reads in their tracker."""
from __future__ import annotations

import asyncio
from urllib.parse import quote

import httpx
import pytest

from adapters.departments.exchange_gateway import SignedProviderGateway
from domain.nodes import signatures
from domain.sharing import rules
from domain.sharing.models import ExchangeMessage
from domain.sharing.service import Approval, GrantRequest, Party
from tests.support.applications import register_node
from tests.support.citizens import ALICE, BOB, bearer
from tests.support.clock import suite_clock
from tests.support.housing_fund import verified
from tests.support.sharing import HOUSEHOLD_ID, InProcessStamper, provider_stub, publish_providers

PSB = Party(node="bj-psb")
EXTRACT = f"/r1/{HOUSEHOLD_ID}/extract"
ISSUE = quote("(2026)京0105民初1234号")  # percent-encoded UTF-8: a header carries no Chinese


@pytest.fixture(scope="module")
def stub():
    with provider_stub() as running:
        yield running


@pytest.fixture
async def court(resources, stub):
    httpx.post(f"{stub.url}/_stub/services/reset", timeout=5).raise_for_status()
    await publish_providers(resources, stub)
    original = resources.sharing.log.stamper
    resources.sharing.log.stamper = InProcessStamper(resources.clock)
    yield await register_node(resources, "bj-court", "department", "110000000000")
    resources.sharing.log.stamper = original


async def grant(resources, consumer: str = "bj-court", *, fields=("name", "sex"), quota: int = 60, **extra) -> str:
    asked = await resources.sharing.grants.request(consumer=consumer, asked=GrantRequest(
        provider="bj-psb", service_code="household-register-extract", fields=("name", "sex", "household_address"),
        purpose="审理离婚诉讼案件核实当事人户籍", legal_basis="《中华人民共和国民事诉讼法》第六十七条",
        expected_daily_calls=100, **extra))
    await resources.sharing.grants.approve(party=PSB, grant_id=asked.id,
                                           approval=Approval(fields=fields, quota_per_minute=quota))
    return asked.id


async def call(client, node, path: str = EXTRACT, *, query: str = f"id_number={ALICE['id_number']}",
               client_id: str | None = None, headers: dict | None = None, nonce: str | None = None):
    request = client.build_request("GET", path + (f"?{query}" if query else ""), headers={
        "X-Road-Client": client_id or f"CN/GOV/{node.code}/case-system", "X-Road-Issue": ISSUE,
        "X-Road-UserId": "CN110105198001010011", **(headers or {})})
    target, _, raw_query = request.url.raw_path.decode().partition("?")
    signed = signatures.signed_headers(private_key=node.key, node=node.code, method="GET", path=target,
                                       query_string=raw_query, body=b"", timestamp=int(suite_clock.timestamp()))
    if nonce:
        message = signatures.string_to_sign(node=node.code, method="GET", path=target, query_string=raw_query,
                                            timestamp=signed["X-Gov-Timestamp"], nonce=nonce, body=b"")
        signed.update({"X-Gov-Nonce": nonce, "X-Gov-Signature": signatures.sign(node.key, message)})
    request.headers.update(signed)
    return await client.send(request)


def stub_calls(stub) -> list[dict]:
    return httpx.get(f"{stub.url}/_stub/services/calls", timeout=5).json()["calls"]


async def test_a_granted_call_crosses_with_only_the_granted_fields(client, resources, stub, court):
    await grant(resources)
    answer = await call(client, court)
    assert answer.status_code == 200, answer.text
    assert set(answer.json()) == {"name", "sex"}  # household_address was asked for, never granted
    target = f"{EXTRACT}?id_number={ALICE['id_number']}"
    # the consumer can prove which request this answer belongs to: the headers it sent (the hub made
    # the X-Road-Id, so it is not among them) and the target, hashed as docs/sharing.md says
    sent = {"X-Road-Client": "CN/GOV/bj-court/case-system", "X-Road-Issue": ISSUE,
            "X-Road-UserId": "CN110105198001010011"}
    assert answer.headers["X-Road-Request-Hash"] == rules.request_hash(method="GET", target=target, headers=sent,
                                                                        body=b"")
    [crossed] = stub_calls(stub)
    assert crossed["headers"]["X-Road-Client"] == "CN/GOV/bj-court/case-system"
    assert crossed["headers"]["X-Road-Id"] == answer.headers["X-Road-Id"]
    [logged] = await ExchangeMessage.all()
    assert (logged.status, logged.fault, logged.fields_returned, logged.request_id) == (
        200, None, ["name", "sex"], answer.headers["X-Road-Request-Id"])
    assert len(logged.subject_hash) == 64 and ALICE["id_number"] not in logged.subject_hash  # a keyed hash


async def test_no_call_crosses_without_a_grant_and_the_refusal_is_logged(client, resources, stub, court):
    answer = await call(client, court)
    assert (answer.status_code, answer.json()["code"]) == (403, "data_grant_required")
    assert answer.headers["X-Road-Error"].endswith("data_grant_required")
    assert stub_calls(stub) == []
    [logged] = await ExchangeMessage.all()
    assert (logged.status, logged.fault) == (0, "data_grant_required")


async def test_another_nodes_grant_or_client_header_does_not_help(client, resources, stub, court):
    await grant(resources, consumer="bj-procuratorate")
    assert (await call(client, court)).json()["code"] == "data_grant_required"
    await grant(resources)
    spoofed = await call(client, court, client_id="CN/GOV/bj-procuratorate")
    assert (spoofed.status_code, spoofed.json()["code"]) == (403, "xroad_client_mismatch")


async def test_a_path_outside_the_grant_and_an_unknown_service_are_refused(client, resources, stub, court):
    await grant(resources)
    assert (await call(client, court, f"/r1/{HOUSEHOLD_ID}/photos")).json()["code"] == "data_grant_required"
    missing = await call(client, court, "/r1/CN/GOV/bj-psb/psb-data/no-such-service/extract")
    assert (missing.status_code, missing.json()["code"]) == (404, "data_service_not_found")
    assert (await call(client, court, "/r1/CN/GOV/bj-psb")).json()["code"] == "route_not_found"
    bad = await call(client, court, client_id="CN/GOV")
    assert (bad.status_code, bad.json()["code"]) == (400, "xroad_request_invalid")
    elsewhere = await call(client, court, "/r1/EE/GOV/bj-psb/psb-data/household-register-extract/extract")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "data_service_not_found")


async def test_a_revocation_holds_on_the_next_call(client, resources, stub, court):
    grant_id = await grant(resources)
    assert (await call(client, court)).status_code == 200
    await resources.sharing.grants.revoke(party=PSB, grant_id=grant_id, reason="案件已审结")
    assert (await call(client, court)).json()["code"] == "data_grant_required"


async def test_the_quota_holds_under_concurrency(client, resources, stub, court):
    await grant(resources, quota=3)
    answers = await asyncio.gather(*(call(client, court) for _ in range(8)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 3 + [429] * 5
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["code"] == "data_grant_quota_exceeded" and int(refused.headers["Retry-After"]) >= 1
    assert len(stub_calls(stub)) == 3


@pytest.fixture
def quick_gateway(resources):
    """The provider timeout at one second (ten in production settings): the test waits no longer."""
    exchange = resources.sharing.exchange
    original = exchange.gateway
    exchange.gateway = SignedProviderGateway(private_key_pem=(signatures_path()).read_bytes(),
                                             now=resources.clock.now, timeout_seconds=1)
    yield
    exchange.gateway = original


def signatures_path():
    from tests.support.sharing import DEVKEYS
    return DEVKEYS / "hub_node_private.pem"


async def test_a_provider_down_or_slow_is_a_clear_502_or_504(client, resources, stub, court, quick_gateway):
    await grant(resources)
    httpx.post(f"{stub.url}/_stub/services/fault", json={"mode": "slow", "seconds": 3}, timeout=5)
    slow = await call(client, court)
    assert (slow.status_code, slow.json()["code"]) == (504, "provider_timeout")
    httpx.post(f"{stub.url}/_stub/services/fault", json={"mode": "down"}, timeout=5)
    down = await call(client, court)
    assert (down.status_code, down.json()["code"]) == (502, "provider_unavailable")
    httpx.delete(f"{stub.url}/_stub/services/fault", timeout=5)
    faults = [m.fault for m in await ExchangeMessage.all().order_by("seq")]
    assert faults == ["provider_timeout", "provider_unavailable"]


async def test_a_replayed_or_forged_request_is_refused_before_anything_is_read(client, resources, stub, court):
    await grant(resources)
    nonce = "replay-nonce-0123456789"
    assert (await call(client, court, nonce=nonce)).status_code == 200
    replayed = await call(client, court, nonce=nonce)
    assert (replayed.status_code, replayed.json()["code"]) == (401, "node_nonce_replayed")
    forger = await register_node(resources, "bj-forger", "department", "110000000000")
    forger.code = "bj-court"  # signs as the court with another key
    forged = await call(client, forger)
    assert (forged.status_code, forged.json()["code"]) == (401, "node_signature_invalid")
    assert len(stub_calls(stub)) == 1


async def test_the_citizen_sees_who_read_their_data_and_nobody_elses(client, resources, stub, court, mock_url):
    alice = await verified(client, mock_url, "alice", ALICE)
    bob = await verified(client, mock_url, "bob", BOB)
    await grant(resources)
    assert (await call(client, court)).status_code == 200
    mine = await client.get("/wx/v1/me/data-uses", headers=bearer(alice))
    assert mine.status_code == 200, mine.text
    [use] = mine.json()["items"]
    assert (use["department"], use["kind"], use["fields"], use["issue"]) == (
        "bj-court", "exchange", ["name", "sex"], "(2026)京0105民初1234号")
    assert use["purpose"] == "审理离婚诉讼案件核实当事人户籍"
    assert (await client.get("/wx/v1/me/data-uses", headers=bearer(bob))).json()["items"] == []
    other = await client.get("/wx/v1/me/data-uses", params={"department": "bj-tax"}, headers=bearer(alice))
    assert other.json()["items"] == []


async def test_an_investigation_is_withheld_from_the_tracker_until_its_embargo_ends(client, resources, stub, court,
                                                                                     mock_url):
    alice = await verified(client, mock_url, "alice", ALICE)
    await grant(resources, investigative=True, embargo_days=30)
    assert (await call(client, court)).status_code == 200
    assert (await client.get("/wx/v1/me/data-uses", headers=bearer(alice))).json()["items"] == []
    assert await ExchangeMessage.all().count() == 1  # in the log all the same
