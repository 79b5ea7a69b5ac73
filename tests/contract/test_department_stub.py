"""The department stub over real HTTP: it checks the hub's signature, dedupes by delivery id,
misbehaves on request, and walks its review script calling the hub back, signed as the node."""
from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from adapters.departments.node_client import SignedNodeClient
from domain.nodes import signatures
from tests.support.clock import suite_clock
from tests.support.department_stub import (
    DEVKEYS,
    NODE,
    NODE_PUBLIC_KEY,
    HubDouble,
    running_stub,
)

HUB_KEY = (DEVKEYS / "hub_node_private.pem").read_bytes()
NOT_THE_HUB_KEY = (DEVKEYS / "demo_node_beijing_psb_private.pem").read_bytes()


@pytest.fixture(scope="module")
def stub():
    with running_stub(review=False) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(request):
    if "stub" in request.fixturenames:
        stub = request.getfixturevalue("stub")
        httpx.post(f"{stub.url}/_stub/reset", timeout=5).raise_for_status()


def _body(delivery_id: str, kind: str = "node.application.submitted", payload: dict | None = None) -> bytes:
    return json.dumps({"delivery_id": delivery_id, "kind": kind, "sent_at": "2026-11-27T10:00:00+00:00",
                       "payload": payload if payload is not None else {"number": f"N{delivery_id}"}},
                      ensure_ascii=False).encode()


async def _deliver(endpoint: str, body: bytes, *, key: bytes = HUB_KEY, timeout: float = 5.0) -> httpx.Response:
    async with httpx.AsyncClient(timeout=timeout) as http:
        client = SignedNodeClient(base_url=endpoint, private_key_pem=key, http=http, retry_delays=(),
                                  now=suite_clock.timestamp)
        return await http.send(client.build("POST", "deliveries", body))


async def test_a_delivery_is_processed_once_however_often_it_arrives(stub):
    first = await _deliver(stub.endpoint(), _body("41"))
    again = await _deliver(stub.endpoint(), _body("41"))
    assert (first.status_code, first.json()["duplicate"]) == (202, False)
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    assert stub.arrivals() == {"41": 2}
    assert stub.processed() == {"41": 1}


async def test_a_request_not_signed_by_the_hub_is_refused_and_not_recorded(stub):
    forged = await _deliver(stub.endpoint(), _body("42"), key=NOT_THE_HUB_KEY)
    assert (forged.status_code, forged.json()["code"]) == (401, "signature_invalid")
    assert stub.arrivals() == {}


async def test_a_replayed_request_is_refused(stub):
    async with httpx.AsyncClient() as http:
        request = SignedNodeClient(base_url=stub.endpoint(), private_key_pem=HUB_KEY, http=http,
                                   now=suite_clock.timestamp).build(
            "POST", "deliveries", _body("43"))
        assert (await http.send(request)).status_code == 202
        replayed = await http.send(request)  # the very same headers: same nonce
    assert (replayed.status_code, replayed.json()["code"]) == (401, "nonce_replayed")


async def test_unknown_node_and_malformed_body_are_clear_4xx(stub):
    assert (await _deliver(stub.endpoint("nobody"), _body("44"))).status_code == 404
    malformed = await _deliver(stub.endpoint(), b'{"kind": "x"}')
    assert (malformed.status_code, malformed.json()["code"]) == (400, "delivery_malformed")
    assert stub.arrivals() == {}


async def test_fault_switches_5xx_429_4xx_then_normal(stub):
    stub.fault("5xx", count=1)
    assert (await _deliver(stub.endpoint(), _body("45"))).status_code == 503
    stub.fault("429", count=1, retry_after=7)
    limited = await _deliver(stub.endpoint(), _body("45"))
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "7")
    stub.fault("4xx", count=1, status=409)
    assert (await _deliver(stub.endpoint(), _body("45"))).status_code == 409
    assert (await _deliver(stub.endpoint(), _body("45"))).status_code == 202  # the faults are used up
    assert stub.arrivals() == {"45": 1}  # a faulted request was not processed


async def test_fault_down_drops_the_connection_and_slow_answers_late(stub):
    stub.fault("down", count=1)
    with pytest.raises(httpx.TransportError):
        await _deliver(stub.endpoint(), _body("46"))
    stub.fault("slow", count=1, seconds=0.6)
    began = time.monotonic()
    assert (await _deliver(stub.endpoint(), _body("46"))).status_code == 202
    assert time.monotonic() - began >= 0.6
    stub.fault("slow", count=1, seconds=1)
    with pytest.raises(httpx.TimeoutException):  # the hub gives up; the stub processed it anyway
        await _deliver(stub.endpoint(), _body("47"), timeout=0.3)
    assert (await _deliver(stub.endpoint(), _body("47"))).json()["duplicate"] is True


async def test_a_bad_fault_is_refused(stub):
    answer = httpx.post(f"{stub.url}/_stub/faults", json={"mode": "sometimes"}, timeout=5)
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_fault")


def _events(hub: HubDouble) -> list[tuple[str, dict]]:
    node_key = signatures.load_public_key(NODE_PUBLIC_KEY.read_bytes())
    events = []
    for method, target, headers, body in hub.received:
        path, _, query = target.partition("?")
        message = signatures.string_to_sign(node=headers["x-gov-node"], method=method, path=path, query_string=query,
                                            timestamp=headers["x-gov-timestamp"], nonce=headers["x-gov-nonce"],
                                            body=body)
        assert headers["x-gov-node"] == NODE and signatures.verify(node_key, message, headers["x-gov-signature"])
        events.append((path, json.loads(body)))
    return events


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_the_review_script_calls_the_hub_back_in_order_signed_as_the_node_retrying_failures():
    async with HubDouble(statuses=[503, 200, 429]) as hub:
        with running_stub(hub_url=hub.url, delay=0.05) as stub:
            submitted = {"number": "330100-20261127-000001", "form": {"name": "张三"}}
            assert (await _deliver(stub.endpoint(), _body("51", payload=submitted))).status_code == 202
            await _until(lambda: len(hub.received) >= 6)  # 4 events, two of them tried twice
            await asyncio.sleep(0.3)
            events = _events(hub)
            assert {path for path, _ in events} == {"/gov/v1/applications/330100-20261127-000001/events"}
            sent = [event["type"] for _, event in events]
            assert sent == ["accepted", "accepted", "review_started", "review_started", "approved", "completed"]
            # a retry is the same event (same id): the hub dedupes it
            assert events[0][1]["event_id"] == events[1][1]["event_id"]
            assert len({event["event_id"] for _, event in events}) == 4
            assert [c["state"] for c in stub.callbacks()] == ["sent"] * 4


async def test_demo_markers_choose_the_path_and_a_withdrawal_cancels_what_is_not_sent():
    async with HubDouble() as hub:
        with running_stub(hub_url=hub.url, delay=0.15) as stub:
            await _deliver(stub.endpoint(), _body("61", payload={"number": "R1", "form": {"note": "DEMO-REJECT"}}))
            await _deliver(stub.endpoint(), _body("62", payload={"number": "C1", "form": {"x": ["DEMO-CORRECTION"]}}))
            await _deliver(stub.endpoint(), _body("63", payload={"number": "W1", "form": {}}))
            await _deliver(stub.endpoint(), _body("64", "node.application.withdrawn", {"number": "W1", "reason": "不办了"}))
            await _until(lambda: len(hub.received) >= 4)
            await asyncio.sleep(0.5)  # W1's accepted would have come by now, had it not been withdrawn
            by_number: dict[str, list[str]] = {}
            for path, event in _events(hub):
                by_number.setdefault(path.split("/")[4], []).append(event["type"])
            assert by_number == {"R1": ["rejected"], "C1": ["accepted", "review_started", "correction_requested"]}
            corrected = {"number": "C1", "form": {"x": ["fixed"]}}
            await _deliver(stub.endpoint(), _body("65", "node.application.resubmitted", corrected))
            await _until(lambda: len(hub.received) >= 7)
            assert [e["type"] for _, e in _events(hub)][-3:] == ["review_started", "approved", "completed"]
            assert {c["state"] for c in stub.callbacks("W1")} == {"cancelled"}
