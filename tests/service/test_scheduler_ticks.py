"""The scheduler's lock names the tick window: each window of a job runs exactly once across
hosts whose ticks are offset, and a window is never refused because of the one before it.

The first two tests wait on the wall clock on purpose (about 3 s): the lock they replace lapsed by
wall time (``SET NX EX seconds-1`` on one key per job), and that is what made it run twice."""
from __future__ import annotations

import asyncio
from collections import Counter

from adapters.scheduler.runner import Job, first_tick, recent_runs, run_once, tick_of
from tests.support.clock import scheduler_seconds

RUNS: Counter = Counter()


async def count_run(hub) -> dict:
    RUNS[hub] += 1
    return {"runs": RUNS[hub]}


REF = "tests.service.test_scheduler_ticks:count_run"


async def _at_phase(seconds: int, low: float, high: float) -> None:
    """Wait until the wall clock is between ``low`` and ``high`` seconds into a window."""
    while not low <= scheduler_seconds() % seconds < high:
        await asyncio.sleep(0.01)


async def test_a_second_host_ticking_later_in_the_same_window_does_not_run_it_again(resources):
    redis, job = resources.redis.aio, Job(REF, seconds=2)
    await _at_phase(2, 0.0, 0.3)
    assert await run_once(job, "host-a", redis) is True
    await asyncio.sleep(1.2)  # host b's tick, offset by 1.2 s: still the same 2-second window
    assert await run_once(job, "host-b", redis) is False
    assert (RUNS["host-a"], RUNS["host-b"]) == (1, 0)


async def test_the_next_window_runs_even_moments_after_the_last_run(resources):
    redis, job = resources.redis.aio, Job(REF, seconds=1)
    await _at_phase(1, 0.85, 0.9)  # host a's tick came late in its window
    assert await run_once(job, "late-a", redis) is True
    await _at_phase(1, 0.02, 0.2)  # host b's on time in the next one, a fraction of a second later
    assert await run_once(job, "early-b", redis) is True


async def test_three_hosts_with_offset_ticks_run_every_window_exactly_once(resources):
    redis, job = resources.redis.aio, Job(REF, seconds=5)
    start = 1_900_000_000.0  # a window edge (a multiple of 5)
    ran: list[int] = []
    for window in range(12):
        for host, offset in (("a", 0.1), ("b", 2.5), ("c", 4.9)):
            now = start + window * 5 + offset
            if await run_once(job, f"offset-{host}", redis, now=now):
                ran.append(tick_of(5, now))
    assert ran == [tick_of(5, start) + w for w in range(12)]  # every window, once
    recorded = Counter(tick for ref, tick, _ in await recent_runs(redis) if ref == REF)
    assert recorded == Counter(ran)


def test_every_host_ticks_in_the_middle_of_the_window():
    assert first_tick(5, 1_900_000_003.2).timestamp() == 1_900_000_002.5
    assert first_tick(3600, 1_900_000_003.2).timestamp() % 3600 == 1800
