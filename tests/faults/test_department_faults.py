"""A department slow, resetting connections, timing out, answering half, or down: the hub's outbox
(domain/delivery's relay and its signed hub->node sender) sends to the department stub through the
fault proxy (faults/proxy.py). Whatever the fault, every delivery ends delivered and the department
acts on each exactly once (it dedupes by delivery id: docs/delivery.md's contract).

The relay runs in the test's process on the hub's own senders, with a 1 s send timeout and a
backoff of 50 ms (instead of 10 s) so that retries come within the test; its rules are the hub's.
Runs on the embedded default too: the stub and the proxy are all it needs."""
from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import pytest

from domain.delivery.models import Delivery, DeliveryAttempt
from domain.delivery.service import DeliveryService
from faults.proxy import FaultProxy
from tests.faults.figures import Figures, report
from tests.support.department_stub import NODE, NODE_PUBLIC_KEY, running_stub

SUBMITTED = "node.application.submitted"
COUNT = 20


@dataclass(frozen=True)
class Case:
    name: str
    faults: dict
    lasts: bool  # the fault stays on to the end (the relay must get through it) or is cleared after a round
    delivered_during: str = "all"  # what the round under a passing fault may deliver: all | none
    reaches: bool = True  # requests reach the department while the fault is on
    extra: dict = field(default_factory=dict)


CASES = [
    Case("slow: 200 ms each way, inside the send timeout", {"latency": 0.2}, lasts=True),
    Case("slow past the send timeout: 600 ms each way", {"latency": 0.6}, lasts=False, delivered_during="none"),
    Case("resets 30 % of answers (the department acted)", {"reset": 0.3}, lasts=True),
    Case("resets 50 % of requests (nothing arrives)", {"reset": 0.5, "reset_on": "request"}, lasts=True),
    Case("times out: a blackhole", {"blackhole": True}, lasts=False, delivered_during="none", reaches=False),
    Case("answers only 60 bytes, then closes", {"partial": 60}, lasts=False, delivered_during="none"),
    Case("down: connection refused", {"down": True}, lasts=False, delivered_during="none", reaches=False),
]


@pytest.fixture
def stub():
    with running_stub(review=False) as running:
        yield running


@pytest.fixture
async def proxy(stub):
    host, port = stub.url.removeprefix("http://").split(":")
    async with FaultProxy((host, int(port)), seed=17) as running:
        yield running


@pytest.fixture
async def node(resources, proxy):
    await resources.nodes.register(code=NODE, kind="province", name="浙江政务服务网", region_code="330000000000",
                                   public_key_pem=NODE_PUBLIC_KEY.read_text(),
                                   endpoint_url=f"{proxy.url}/nodes/{NODE}")


def relay_of(resources) -> DeliveryService:
    """The hub's relay on the hub's senders, retrying within a test's time."""
    return DeliveryService(clock=resources.clock, vault=resources.vault, senders=resources.delivery.senders,
                           relay_name="fault-relay", lease_seconds=5, concurrency=10, send_timeout=1.0,
                           max_attempts=100, backoff_base=0.05)


async def relay_until_delivered(relay: DeliveryService, ids: list[int], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while await Delivery.filter(id__in=ids, status="delivered").count() < len(ids):
        assert time.monotonic() < deadline, "deliveries still pending after the fault"
        if not (await relay.relay_due(len(ids))).claimed:
            await asyncio.sleep(0.05)


async def test_every_department_fault_loses_nothing_and_the_department_acts_once(resources, stub, proxy, node):
    """The faults one after another on one hub and stub (emptying the tables between them would cost
    more than the faults): each case has deliveries of its own and its own figures."""
    for number, case in enumerate(CASES):
        await proxy.clear()
        proxy.stats.clear()
        await one_fault(resources, stub, proxy, case, offset=number * COUNT)


async def one_fault(resources, stub, proxy, case: Case, offset: int) -> None:
    relay = relay_of(resources)
    ids = [await resources.delivery.enqueue(kind=SUBMITTED, target=NODE, payload={"number": f"N{i}"},
                                            dedupe_key=f"fault-{i}") for i in range(offset, offset + COUNT)]
    before = sum(stub.arrivals().values())
    await proxy.set(**case.faults)
    if not case.lasts:
        await relay.relay_due(COUNT)  # one round under the fault: every send fails
        during = await Delivery.filter(id__in=ids, status="delivered").count()
        assert during == 0, f"{during} delivered through {case.name}"
        assert await Delivery.filter(id__in=ids, status="pending", attempts=1).count() == COUNT, case.name
        reached = sum(stub.arrivals().values()) - before
        assert (reached > 0) == case.reaches, f"{reached} requests reached the department: {case.name}"
        await proxy.clear()
    await relay_until_delivered(relay, ids, timeout=60)

    processed = {key: n for key, n in stub.processed().items() if int(key) in ids}
    arrivals = sum(n for key, n in stub.arrivals().items() if int(key) in ids)
    assert processed == {str(i): 1 for i in ids}, case.name  # none lost, none acted on twice
    attempts = await DeliveryAttempt.filter(delivery_id__in=ids).count()
    if case.faults.get("reset") and case.faults.get("reset_on", "answer") == "answer":
        assert arrivals > COUNT, "some answers were reset after the department acted"
    report(Figures(
        fault=f"department {case.name}", submitted=COUNT,
        stored=await Delivery.filter(id__in=ids).count(),
        delivered=await Delivery.filter(id__in=ids, status="delivered").count(),
        exactly_once=sum(1 for n in processed.values() if n == 1),
        extra={"attempts": attempts, "arrivals at the department": arrivals,
               "proxy": {k: v for k, v in proxy.stats.items() if not k.startswith("bytes")}}))
