"""The hub under submit load while its parts fail, every part a real process (docs/faults.md):

- kill -9 of one of two ``govhub serve`` instances on the same PostgreSQL and Redis;
- Redis killed and started again (empty) under load;
- PostgreSQL stopped (immediate: as a crash) and started again under load: requests fail fast with
  503 ``database_unavailable`` and Retry-After meanwhile, and the hub recovers by itself.

The clients retry each submission with its Idempotency-Key until it is stored (tests/faults/load.py).
Each test reports submitted N (acknowledged to the clients), stored N (in the database: none lost,
none twice), delivered N exactly once (the outbox delivered each to the department stub, which acted
on each once). PostgreSQL (5440) and Redis (6390) are the tests' own (tests/faults/services.py), never
the shared ones; they run in the real-services phase of .ci/run."""
from __future__ import annotations

import asyncio
import os
import time
from contextlib import ExitStack

import pytest

from tests.faults.figures import Figures, report
from tests.faults.hub_world import audit, hub_world
from tests.faults.load import Ledger, run_load
from tests.faults.services import postgres_available, private_postgres, private_redis, redis_available
from tests.support.department_stub import running_stub
from tests.support.live_hub import fresh_database

pytestmark = pytest.mark.skipif(
    not os.environ.get("GOVHUB_DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    or not postgres_available() or not redis_available(),
    reason="real-services run only: starts its own PostgreSQL (5440) and Redis (6390) to kill and restart")

CLIENTS = 10  # per test; each test logs in citizens of its own (the submit limit is per citizen)


@pytest.fixture(scope="module")
def world(mock_url):
    with ExitStack() as stack:
        postgres = stack.enter_context(private_postgres())
        redis = stack.enter_context(private_redis())
        database_url = stack.enter_context(fresh_database(postgres.url))
        stub = stack.enter_context(running_stub(review=False))
        built = stack.enter_context(hub_world(database_url=database_url, redis_url=redis.url, mock_url=mock_url,
                                              stub=stub, citizens=3 * CLIENTS))
        built.postgres, built.redis = postgres, redis
        yield built


@pytest.fixture(scope="module")
def steady(world):
    """The instance that stays up (and runs the scheduler: the relay)."""
    with world.hub() as hub:
        world.log_in(hub.url, 3 * CLIENTS)
        yield hub


def tokens(world, part: int) -> list[str]:
    return world.tokens[part * CLIENTS:(part + 1) * CLIENTS]


async def under_load(urls: list[str], tokens: list[str], fault) -> Ledger:
    """Load on ``urls`` while ``fault()`` (a coroutine) runs; the load stops when it returns."""
    ledger, stop = Ledger(), asyncio.Event()
    load = asyncio.create_task(run_load(urls, tokens, stop, ledger))
    try:
        await fault(ledger)
    finally:
        stop.set()
    await load
    return ledger


async def until_submitted(ledger: Ledger, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while len(ledger.acknowledged) < count:
        assert time.monotonic() < deadline, f"only {len(ledger.acknowledged)} submitted: {ledger.answers}"
        await asyncio.sleep(0.05)


async def settled(world, ledger: Ledger, fault: str, timeout: float = 60, **extra) -> Figures:
    """Wait for the relay to deliver this load's applications; check and report the figures."""
    numbers = set(ledger.acknowledged.values())
    deadline = time.monotonic() + timeout
    while True:
        held = await audit(world.database_url)
        delivered = [held.deliveries[n] for n in numbers if held.deliveries.get(n, (0, ""))[1] == "delivered"]
        if len(delivered) == len(numbers) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    stored = [n for n in held.numbers if n in numbers]
    mine = {key: held.keys.get(key) for key in ledger.acknowledged}
    assert mine == ledger.acknowledged, "a key stored another number than the client was told, or none"
    assert len(numbers) == len(ledger.acknowledged), "two keys were told the same number"
    assert sorted(stored) == sorted(numbers), "an acknowledged application is missing"
    processed = world.stub.processed()
    once = sum(1 for delivery_id, _ in delivered if processed.get(str(delivery_id)) == 1)
    figures = report(Figures(fault=fault, submitted=len(ledger.acknowledged), stored=len(stored),
                             delivered=len(delivered), exactly_once=once,
                             extra={"answers": dict(ledger.answers), **extra}))
    assert figures.delivered == figures.submitted, f"not all delivered within {timeout} s"
    assert figures.exactly_once == figures.submitted, "the department acted on one twice, or not at all"
    return figures


async def test_kill_9_of_one_instance_under_submit_load_loses_nothing_and_duplicates_nothing(world, steady):
    # the instance killed runs no scheduler: a relay killed mid-batch is test_relay_kill's fault
    with world.hub(GOVHUB_SCHEDULER_ENABLED="false") as doomed:
        async def kill_one(ledger: Ledger) -> None:
            await until_submitted(ledger, 40)
            doomed.kill()
            killed_at = len(ledger.acknowledged)
            await until_submitted(ledger, killed_at + 60)  # the clients carry on against the other

        ledger = await under_load([doomed.url, steady.url], tokens(world, 0), kill_one)
    assert sum(n for answer, n in ledger.answers.items() if not answer.isdigit()) > 0, "the kill cut requests"
    await settled(world, ledger, "kill -9 of one of two hub instances under submit load")


async def test_redis_restarted_under_load_loses_nothing(world, steady):
    async def restart_redis(ledger: Ledger) -> None:
        await until_submitted(ledger, 30)
        world.redis.stop()
        await asyncio.sleep(1.5)
        world.redis.start()  # empty: rate-limit buckets, caches and locks are gone, nothing that matters
        back = len(ledger.acknowledged)
        await until_submitted(ledger, back + 40)

    ledger = await under_load([steady.url], tokens(world, 1), restart_redis)
    codes = {problem.get("code") for problem in ledger.problems}
    # cache_unavailable from bff/common/outages.py; upstream_unavailable where adapters/cache wraps the loss
    assert codes <= {"cache_unavailable", "upstream_unavailable"}, ledger.problems
    assert all(p["retry_after"] for p in ledger.problems), ledger.problems
    await settled(world, ledger, "Redis killed and restarted (empty) under submit load",
                  problem_codes=sorted(c for c in codes if c))


async def test_postgresql_restarted_under_load_fails_fast_with_503_and_recovers(world, steady):
    async def restart_postgres(ledger: Ledger) -> None:
        await until_submitted(ledger, 30)
        world.postgres.stop("immediate")  # as a crash: connections cut, recovery at the next start
        await asyncio.sleep(2)
        world.postgres.start()
        back = len(ledger.acknowledged)
        await until_submitted(ledger, back + 40)

    logged_before = len(steady.output())
    ledger = await under_load([steady.url], tokens(world, 2), restart_postgres)
    assert ledger.answers["503"] > 0, ledger.answers
    if "500" in ledger.answers:
        print(errors_logged(steady, since=logged_before))  # what the 500 was: pytest cuts long messages short
    assert "500" not in ledger.answers, ledger.problems
    assert all(p["code"] == "database_unavailable" and p["retry_after"] and
               p["content_type"] == "application/problem+json" for p in ledger.problems), ledger.problems
    assert ledger.slowest_failure < 5, "a request hung while the database was down"
    await settled(world, ledger, "PostgreSQL stopped (immediate) and restarted under submit load",
                  slowest_failed_request_s=round(ledger.slowest_failure, 2))


def errors_logged(hub, since: int = 0) -> str:
    """The hub's ERROR records and tracebacks logged after ``since`` (characters of its output), the
    requests' unexpected errors first: what the 500 was, not what an earlier test left."""
    lines = hub.output()[since:].splitlines()
    keep = [i for i, line in enumerate(lines) if '"ERROR"' in line or line.startswith("Traceback")]
    keep.sort(key=lambda i: "unexpected error" not in lines[i])
    return "\n".join("\n".join(lines[i:i + 25]) for i in keep[:3])[:20000] or "(no errors logged)"
