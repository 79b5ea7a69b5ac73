"""The relay against the REAL department stub over HTTP: delivered once, retried on connection
errors, 5xx and 429 (Retry-After honoured), parked on other 4xx and after the limit, leases that
keep several relays apart and let one take over a dead relay's rows."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest

from adapters.departments.node_sender import NodeSender
from domain.delivery import rules
from domain.delivery.models import Delivery, DeliveryAttempt
from domain.delivery.rules import NODE_KINDS
from domain.delivery.service import DeliveryService
from tests.support.department_stub import NODE, NODE_PUBLIC_KEY, running_stub

SUBMITTED = "node.application.submitted"


@pytest.fixture(scope="module")
def stub():
    with running_stub(review=False) as running:
        yield running


@pytest.fixture
async def node(resources, stub):
    httpx.post(f"{stub.url}/_stub/reset", timeout=5).raise_for_status()
    await resources.nodes.register(code=NODE, kind="province", name="浙江政务服务网",
                                               region_code="330000000000", public_key_pem=NODE_PUBLIC_KEY.read_text(),
                                               endpoint_url=stub.endpoint())
    return NODE


def relay(resources, clock, name: str = "relay-a", **options) -> DeliveryService:
    sender = NodeSender(nodes=resources.nodes, client_factory=resources.node_client_factory,
                        now=clock.now)
    return DeliveryService(clock=clock, vault=resources.vault, senders={kind: sender for kind in NODE_KINDS},
                           relay_name=name, jitter=lambda: 0.0, **options)


async def enqueue(service: DeliveryService, count: int, *, kind: str = SUBMITTED, target: str = NODE) -> list[int]:
    return [await service.enqueue(kind=kind, target=target, payload={"number": f"N{i}"}, dedupe_key=f"{kind}:{target}:{i}")
            for i in range(count)]


async def test_delivered_once_with_its_attempt_recorded(resources, stub, node, clock):
    service = relay(resources, clock)
    ids = await enqueue(service, 3)
    report = await service.relay_due(10)
    assert (report.claimed, report.delivered) == (3, 3)
    assert stub.processed() == {str(i): 1 for i in ids} and stub.arrivals() == {str(i): 1 for i in ids}
    detail = await service.get(ids[0])
    assert (detail.status, detail.attempts, detail.delivered_at) == ("delivered", 1, clock.now())
    [attempt] = detail.attempt_log
    assert (attempt.number, attempt.outcome, attempt.status_code, attempt.relay) == (1, "delivered", 202, "relay-a")
    assert attempt.duration_ms >= 0
    assert (await service.relay_due(10)).claimed == 0  # nothing left: nothing sent twice


async def test_the_body_on_the_wire_is_the_contract(resources, stub, node, clock):
    service = relay(resources, clock)
    [delivery_id] = await enqueue(service, 1)
    await service.relay_due(10)
    received = httpx.get(f"{stub.url}/_stub/deliveries/{NODE}/{delivery_id}", timeout=5).json()
    assert (received["kind"], received["payload"]) == (SUBMITTED, {"number": "N0"})


async def test_department_down_then_up_delivers_everything_once(resources, stub, node, clock):
    service = relay(resources, clock)
    ids = await enqueue(service, 5)
    stub.stop()
    try:
        report = await service.relay_due(10)
        assert (report.claimed, report.retrying) == (5, 5)
        row = await Delivery.get(id=ids[0])
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
        assert "ConnectError" in row.last_error
        assert row.next_attempt_at == clock.now() + timedelta(seconds=rules.BASE_SECONDS / 2)  # jitter 0
        assert (await service.relay_due(10)).claimed == 0  # not due yet
    finally:
        stub.start()
    clock.advance(rules.BASE_SECONDS)
    assert (await service.relay_due(10)).delivered == 5
    assert stub.processed() == {str(i): 1 for i in ids}


async def test_5xx_and_429_are_retried_and_retry_after_is_honoured(resources, stub, node, clock):
    service = relay(resources, clock)
    [first] = await enqueue(service, 1)
    stub.fault("5xx", count=1)
    assert (await service.relay_due(10)).retrying == 1
    clock.advance(60)
    stub.fault("429", count=1, retry_after=120)
    assert (await service.relay_due(10)).retrying == 1
    row = await Delivery.get(id=first)
    assert (row.attempts, row.last_status_code) == (2, 429)
    assert row.next_attempt_at == clock.now() + timedelta(seconds=120)  # not the 10 s backoff
    clock.advance(120)
    assert (await service.relay_due(10)).delivered == 1
    outcomes = [(a.outcome, a.status_code) for a in (await service.get(first)).attempt_log]
    assert outcomes == [("retry", 503), ("retry", 429), ("delivered", 202)]


async def test_another_4xx_parks_at_once_with_the_answer_recorded(resources, stub, node, clock):
    service = relay(resources, clock)
    [first] = await enqueue(service, 1)
    stub.fault("4xx", count=1, status=422)
    assert (await service.relay_due(10)).parked == 1
    detail = await service.get(first)
    assert (detail.status, detail.last_status_code, detail.attempts) == ("parked", 422, 1)
    assert "rejected by the receiver" in detail.parked_reason
    assert '"refused"' in detail.attempt_log[0].response_excerpt
    assert stub.arrivals() == {}


async def test_parked_after_the_limit_then_resent_and_delivered(resources, stub, node, clock):
    from domain.audit.service import SystemActor

    service = relay(resources, clock, max_attempts=3)
    [first] = await enqueue(service, 1)
    stub.fault("5xx")  # until cleared
    for _ in range(3):
        await service.relay_due(10)
        clock.advance(3600)
    detail = await service.get(first)
    assert (detail.status, detail.attempts, len(detail.attempt_log)) == ("parked", 3, 3)
    assert detail.parked_reason.startswith("gave up after 3 attempts")
    stub.clear_fault()
    clock.advance(3600)
    assert (await service.relay_due(10)).claimed == 0  # parked stays parked until an operator acts
    await service.resend(delivery_id=first, actor=SystemActor("system:test"))
    assert (await service.relay_due(10)).delivered == 1
    assert stub.processed() == {str(first): 1}


async def test_a_kind_without_a_sender_is_parked_never_dropped(resources, node, clock):
    service = relay(resources, clock)
    [notice] = await enqueue(service, 1, kind="notify.wechat", target="42")
    assert (await service.relay_due(10)).parked == 1
    detail = await service.get(notice)
    assert (detail.status, detail.attempt_log[0].outcome) == ("parked", "no_sender")
    assert "notify.wechat" in detail.parked_reason


async def test_unknown_node_parks_and_a_node_without_endpoint_waits(resources, stub, node, clock):
    service = relay(resources, clock)
    [unknown] = await enqueue(service, 1, target="nobody-platform")
    await resources.nodes.set_endpoint(code=NODE, endpoint_url=None)
    [waiting] = await enqueue(service, 1)
    await service.relay_due(10)
    assert (await Delivery.get(id=unknown)).status == "parked"
    row = await Delivery.get(id=waiting)
    assert (row.status, row.last_error) == ("pending", f"node {NODE} has no endpoint (govhub nodes set-endpoint)")


async def test_two_relays_at_once_send_each_delivery_once(resources, stub, node, clock):
    first, second = relay(resources, clock, "relay-a"), relay(resources, clock, "relay-b")
    ids = await enqueue(first, 40)
    reports = await asyncio.gather(first.relay_due(25), second.relay_due(25))
    assert sum(r.claimed for r in reports) == 40 and sum(r.delivered for r in reports) == 40
    assert stub.arrivals() == {str(i): 1 for i in ids}  # no row claimed by both
    relays = {a.relay for a in await DeliveryAttempt.all()}
    assert relays == {"relay-a", "relay-b"}


async def test_a_dead_relays_lease_runs_out_and_another_relay_takes_over(resources, stub, node, clock):
    dead, alive = relay(resources, clock, "relay-dead", lease_seconds=30), relay(resources, clock, "relay-alive")
    ids = await enqueue(dead, 3)
    claimed = await dead.relay._claim("relay-dead:1", 10)  # claimed, then the process "died" before sending
    assert len(claimed) == 3
    assert (await alive.relay_due(10)).claimed == 0  # the lease still holds
    lease = dead.lease_for(10).total_seconds()  # 30 s asked; stretched to outlast a batch of timeouts
    assert lease == 30 + 30
    clock.advance(lease - 1)
    assert (await alive.relay_due(10)).claimed == 0
    clock.advance(2)
    assert (await alive.relay_due(10)).delivered == 3
    assert stub.processed() == {str(i): 1 for i in ids}


def failing_once(method, error: Exception):
    """``method``, whose first call does its work and then fails as a database gone away would."""
    calls = []

    async def wrapped(*args, **kwargs):
        result = await method(*args, **kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise error
        return result
    return wrapped


async def test_outcomes_the_database_lost_are_recorded_next_batch_without_waiting_for_the_lease(
        resources, stub, node, clock, monkeypatch):
    service = relay(resources, clock)
    ids = await enqueue(service, 3)
    # the recording transaction is lost (rolled back) with the database: as if it never ran
    async def lost(group, token):
        raise ConnectionResetError("connection lost")
    real_record = service.relay._record
    monkeypatch.setattr(service.relay, "_record", lost)
    report = await service.relay_due(10)
    assert (report.claimed, report.delivered) == (3, 0)
    assert {r.status for r in await Delivery.filter(id__in=ids)} == {"pending"}  # still leased to the batch
    monkeypatch.setattr(service.relay, "_record", real_record)
    assert (await service.relay_due(10)).claimed == 0  # the clock has not moved: no lease ran out
    assert {r.status for r in await Delivery.filter(id__in=ids)} == {"delivered"}
    assert stub.arrivals() == {str(i): 1 for i in ids}  # recorded, not sent again
    assert await DeliveryAttempt.filter(delivery_id__in=ids).count() == 3


async def test_rows_claimed_but_never_read_back_are_freed_by_the_next_batch(resources, stub, node, clock,
                                                                            monkeypatch):
    service = relay(resources, clock)
    ids = await enqueue(service, 3)
    monkeypatch.setattr(service.relay, "_claim", failing_once(service.relay._claim, ConnectionResetError()))
    with pytest.raises(ConnectionResetError):
        await service.relay_due(10)
    assert {r.claimed_by is not None for r in await Delivery.filter(id__in=ids)} == {True}
    assert (await service.relay_due(10)).delivered == 3  # the same moment: freed, not waited out
    assert stub.arrivals() == {str(i): 1 for i in ids}


async def test_the_daily_summary_counts_and_names_the_oldest_parked(resources, stub, node, clock):
    service = relay(resources, clock)
    await enqueue(service, 2)
    await service.relay_due(10)
    [parked] = await enqueue(service, 1, kind="notify.sms", target="7")
    await service.relay_due(10)
    summary = await service.take_summary()
    assert summary["last_24h"] == [
        {"kind": "node.application.submitted", "target": NODE, "status": "delivered", "count": 2},
        {"kind": "notify.sms", "target": "7", "status": "parked", "count": 1}]
    assert summary["parked_total"] == 1 and summary["oldest_parked"]["id"] == parked
    assert summary["stuck_pending"] == 0
    assert await service.latest_summary() == summary
