"""The outbox under real faults, with real processes: a relay SIGKILLed in the middle of a batch,
and Redis restarted while the scheduler's relay job runs. N enqueued, N delivered, and the stub
department processed each exactly once (it dedupes by delivery id; that is the contract)."""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from domain.delivery.models import Delivery
from tests.support.clock import suite_clock
from tests.support.department_stub import NODE, NODE_PUBLIC_KEY, running_stub
from tests.support.mock_server import REPO_ROOT, free_port

SUBMITTED = "node.application.submitted"


@pytest.fixture
def stub():
    with running_stub(review=False) as running:
        yield running


@pytest.fixture
async def node(resources, stub):
    await resources.nodes.register(code=NODE, kind="province", name="浙江政务服务网",
                                               region_code="330000000000", public_key_pem=NODE_PUBLIC_KEY.read_text(),
                                               endpoint_url=stub.endpoint())


@contextmanager
def relay_process(settings, name: str, *extra: str, redis_url: str | None = None) -> Iterator[subprocess.Popen]:
    args = [sys.executable, "-m", "tests.support.relay_process", "--database-url", settings.database_url,
            "--redis-url", settings.redis_url if redis_url is None else redis_url, "--mock-port",
            str(settings.mock_port), "--name", name, *extra]
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(args, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
        try:
            yield process
        finally:
            if process.poll() is None:
                process.kill()
            process.wait()
            log.seek(0)
            print(log.read()[-3000:])  # shown by pytest when the test fails


async def enqueue(resources, count: int, offset: int = 0) -> list[int]:
    service = resources.delivery
    return [await service.enqueue(kind=SUBMITTED, target=NODE, payload={"number": f"N{i}"}, dedupe_key=f"k{i}")
            for i in range(offset, offset + count)]


async def until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def all_delivered(ids: list[int]) -> bool:
    return await Delivery.filter(id__in=ids, status="delivered").count() == len(ids)


async def test_a_relay_killed_mid_batch_loses_nothing_and_the_department_sees_each_once(resources, settings, stub,
                                                                                         node):
    ids = await enqueue(resources, 30)
    stub.fault("slow", seconds=0.3)  # the stub processes at once and answers late: a kill lands in flight
    with relay_process(settings, "relay-1", "--lease", "2") as first:
        async def some_arrived() -> bool:
            return len(stub.arrivals()) >= 5
        await until(some_arrived, 60, "the first relay to deliver some")
        first.send_signal(signal.SIGKILL)  # right after an arrival: that request is still unanswered
        first.wait()
    recorded_before = await Delivery.filter(id__in=ids, status="delivered").count()
    processed_before = len(stub.arrivals())
    assert recorded_before < processed_before, "the kill should land between sending and recording"
    # Time passes: the dead relay's leases run out. A lease covers a whole batch at its send
    # timeout plus a margin (DeliveryService.lease_for: about a minute here), too long to sit out.
    expired = await Delivery.filter(id__in=ids, status="pending", claimed_by__isnull=False).update(
        claimed_until=suite_clock.now() - timedelta(seconds=1))
    assert expired, "the killed relay held leases"
    stub.clear_fault()
    with relay_process(settings, "relay-2", "--lease", "2"):
        await until(lambda: all_delivered(ids), 60, "the second relay to deliver the rest")
    assert stub.processed() == {str(i): 1 for i in ids}  # each acted on once
    arrivals = stub.arrivals()
    assert set(arrivals) == {str(i) for i in ids}  # none lost
    assert any(count > 1 for count in arrivals.values())  # some were sent twice: the dedupe made "once"


def _redis_server() -> str | None:
    return shutil.which("redis-server")


@contextmanager
def private_redis(port: int, folder: str) -> Iterator[subprocess.Popen]:
    process = subprocess.Popen([_redis_server(), "--port", str(port), "--save", "", "--appendonly", "no",
                                "--dir", folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() != b"PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait()


@pytest.mark.skipif(not os.environ.get("GOVHUB_REDIS_URL") or not _redis_server(),
                    reason="real-services run only: a private redis-server is restarted (not the shared one)")
async def test_redis_restart_while_the_scheduler_relays_loses_nothing(resources, settings, stub, node):
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        redis = private_redis(port, folder)
        redis.__enter__()
        try:
            first = await enqueue(resources, 20)
            with relay_process(settings, "relay-sched", "--via-scheduler", redis_url=f"redis://127.0.0.1:{port}/0"):
                await until(lambda: all_delivered(first), 60, "relaying through the scheduler job")
                redis.__exit__(None, None, None)  # Redis goes away mid-run...
                during = await enqueue(resources, 20, offset=20)
                await asyncio.sleep(1.5)  # ...ticks fail meanwhile (the job cannot take its lock)...
                assert not await all_delivered(during)
                redis = private_redis(port, folder)  # ...and comes back, empty
                redis.__enter__()
                await until(lambda: all_delivered(during), 60, "relaying after the restart")
        finally:
            redis.__exit__(None, None, None)
    assert stub.processed() == {str(i): 1 for i in first + during}
    assert stub.arrivals() == {str(i): 1 for i in first + during}
