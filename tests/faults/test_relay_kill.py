"""kill -9 of a relay mid-batch while another relay keeps going, as when one of two instances dies:
the survivor delivers the killed relay's batch once its leases run out, and the department acts on
each delivery once. tests/journeys/test_outbox_faults.py kills a lone relay and starts another;
here two run at once over SKIP LOCKED leases, and the figures are reported (docs/faults.md)."""
from __future__ import annotations

import signal
from datetime import timedelta

from domain.delivery.models import Delivery
from tests.faults.figures import Figures, report
from tests.journeys.test_outbox_faults import all_delivered, enqueue, node, relay_process, stub, until  # noqa: F401
from tests.support.clock import suite_clock

COUNT = 40


async def test_a_relay_killed_mid_batch_beside_another_loses_nothing_and_the_department_acts_once(
        resources, settings, stub, node):  # noqa: F811 - the fixtures imported above
    ids = await enqueue(resources, COUNT)
    stub.fault("slow", seconds=0.3)  # answers late: the kill lands with requests in flight
    with relay_process(settings, "relay-a", "--lease", "2", "--batch", "8") as doomed, \
            relay_process(settings, "relay-b", "--lease", "2", "--batch", "8"):
        async def both_sending() -> bool:
            claimed = await Delivery.filter(id__in=ids, claimed_by__startswith="relay-a").count()
            return claimed > 0 and len(stub.arrivals()) >= 6
        await until(both_sending, 60, "both relays to send")
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        held = await Delivery.filter(id__in=ids, status="pending", claimed_by__startswith="relay-a").count()
        assert held, "the killed relay held leases"
        # Time passes: the dead relay's leases run out (a batch at its send timeout plus a margin,
        # about a minute here: too long to sit out), the survivor takes its rows over.
        await Delivery.filter(id__in=ids, status="pending", claimed_by__startswith="relay-a").update(
            claimed_until=suite_clock.now() - timedelta(seconds=1))
        stub.clear_fault()
        await until(lambda: all_delivered(ids), 60, "the surviving relay to deliver the rest")
    processed, arrivals = stub.processed(), stub.arrivals()
    assert processed == {str(i): 1 for i in ids}
    report(Figures(fault="kill -9 of one of two relays mid-batch", submitted=COUNT,
                   stored=await Delivery.filter(id__in=ids).count(),
                   delivered=await Delivery.filter(id__in=ids, status="delivered").count(),
                   exactly_once=sum(1 for n in processed.values() if n == 1),
                   extra={"leases held by the killed relay": held, "arrivals at the department":
                          sum(arrivals.values())}))
