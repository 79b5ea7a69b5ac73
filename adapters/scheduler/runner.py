"""APScheduler 3 in one process per host; a Redis lock per tick runs each job once across hosts.

Jobs are importable ``module:function`` references taking the hub (``bff.container.Hub``, untyped
here: adapters do not import the BFF); they are thin and call domain services.

Ticks are windows of wall time: window ``n`` of a job every ``s`` seconds is ``[n*s, (n+1)*s)``.
The lock is named after the window (``floor(now / s)``), so whichever host asks first in a window
runs it and every other host's tick in that window is refused, however the hosts' ticks are offset.
A lock held for ``s - 1`` seconds on one key per job (the scheme before) let a second host run
again in the same window once the lock lapsed, and refused the next window to a host whose tick
came early. Every host ticks in the middle of each window, so a host clock off by less than half
an interval still lands each tick in the window its peers name.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
import math
import os
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("govhub.scheduler")

LOCK_PREFIX = "govhub:job:"
RUNS_KEY = "govhub:jobs:runs"  # the latest runs, newest first: "ref tick holder" (operators, tests)
RUNS_KEPT = 2000


@dataclass(frozen=True)
class Job:
    ref: str  # "module:function"; the function is ``async def job(hub) -> dict | None``
    seconds: int  # interval


def resolve(ref: str):
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def tick_of(seconds: int, now: float) -> int:
    """The window ``now`` (epoch seconds) falls in, for a job every ``seconds``."""
    return math.floor(now / seconds)


def lock_key(job: Job, tick: int) -> str:
    return f"{LOCK_PREFIX}{job.ref}:{tick}"


def holder() -> str:
    """Who took a lock: this host and process, for the run record."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_once(job: Job, hub, redis, *, now: float | None = None) -> bool:
    """Run ``job`` if no host has run this tick window yet. Returns whether it ran here.

    ``now`` (epoch seconds) names the window; the wall clock when not given."""
    tick = tick_of(job.seconds, time.time() if now is None else now)
    me = holder()
    # the key outlives its window by one more, so a host whose clock lags still finds it taken
    if not await redis.set(lock_key(job, tick), me, nx=True, ex=2 * job.seconds):
        return False
    await _record_run(redis, job, tick, me)
    try:
        outcome = await resolve(job.ref)(hub)
        log.info("job %s done: %s", job.ref, outcome)
    except Exception:  # one failing job must not stop the scheduler; it is logged and retried next tick
        log.exception("job %s failed", job.ref)
    return True


async def _record_run(redis, job: Job, tick: int, me: str) -> None:
    """Which host ran which window of which job, kept short: what tells a double run from one."""
    try:
        async with redis.pipeline(transaction=False) as pipe:
            pipe.lpush(RUNS_KEY, f"{job.ref} {tick} {me}")
            pipe.ltrim(RUNS_KEY, 0, RUNS_KEPT - 1)
            await pipe.execute()
    except Exception:  # a record lost must not cost the run
        log.warning("job %s: run not recorded", job.ref, exc_info=True)


async def recent_runs(redis) -> list[tuple[str, int, str]]:
    """The recorded runs, newest first: (job ref, tick, holder)."""
    rows = await redis.lrange(RUNS_KEY, 0, -1)
    out = []
    for row in rows:
        ref, tick, who = (row.decode() if isinstance(row, bytes) else row).split(" ", 2)
        out.append((ref, int(tick), who))
    return out


def first_tick(seconds: int, now: float) -> datetime:
    """The middle of the current window: every host ticks there, half an interval from each edge."""
    return datetime.fromtimestamp(tick_of(seconds, now) * seconds + seconds / 2, UTC)


def start(jobs: list[Job], hub, redis, running: set[asyncio.Task]) -> AsyncIOScheduler:
    """``running``: filled with the job runs in progress (what a stop waits for)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        # every host ticks in the middle of each window (first_tick)
        scheduler.add_job(_tracked, "interval", seconds=job.seconds, start_date=first_tick(job.seconds, time.time()),
                          args=[job, hub, redis, running], id=job.ref, max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


async def _tracked(job: Job, hub, redis, running: set[asyncio.Task]) -> bool:
    task = asyncio.current_task()
    running.add(task)
    try:
        return await run_once(job, hub, redis)
    finally:
        running.discard(task)


async def serve_forever(jobs: list[Job], hub, redis, *, stop: asyncio.Event | None = None,
                        grace: float = 10.0) -> None:
    """Run the jobs until ``stop`` is set; then take no new tick, give the runs in progress
    ``grace`` seconds to finish and cancel the rest, and return only when none is running: the
    caller closes the database after this, and a job still running then would open it again (on
    SQLite, a connection thread that nothing ever closes keeps the process from exiting)."""
    running: set[asyncio.Task] = set()
    scheduler = start(jobs, hub, redis, running)
    try:
        await (stop or asyncio.Event()).wait()
    finally:
        scheduler.shutdown(wait=False)
        await finish(running, grace)


async def finish(running: set[asyncio.Task], grace: float) -> None:
    """Wait up to ``grace`` seconds for ``running``; cancel what is left and wait for it to end."""
    if running:
        log.info("stopping: waiting up to %.1f s for %s", grace, ", ".join(t.get_name() for t in running))
        _, late = await asyncio.wait(set(running), timeout=grace)
        for task in late:
            log.warning("stopping: job run %s cancelled after %.1f s", task.get_name(), grace)
            task.cancel()
        if late:
            await asyncio.wait(late)
