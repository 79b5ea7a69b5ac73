"""APScheduler 3 in one process per host; a Redis lock per tick runs each job once across hosts.

Jobs are importable ``module:function`` references taking the hub (``bff.container.Hub``, untyped
here: adapters do not import the BFF); they are thin and call domain services.
"""
from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger("govhub.scheduler")


@dataclass(frozen=True)
class Job:
    ref: str  # "module:function"; the function is ``async def job(hub) -> dict | None``
    seconds: int  # interval


def resolve(ref: str):
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


async def run_once(job: Job, hub, redis) -> bool:
    """Run ``job`` if no other host holds this tick's lock. Returns whether it ran here."""
    lock = f"govhub:job:{job.ref}"
    if not await redis.set(lock, "1", nx=True, ex=max(1, job.seconds - 1)):
        return False
    try:
        outcome = await resolve(job.ref)(hub)
        log.info("job %s done: %s", job.ref, outcome)
    except Exception:  # one failing job must not stop the scheduler; it is logged and retried next tick
        log.exception("job %s failed", job.ref)
    return True


def start(jobs: list[Job], hub, redis) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for job in jobs:
        scheduler.add_job(run_once, "interval", seconds=job.seconds, args=[job, hub, redis], id=job.ref,
                          max_instances=1, coalesce=True)
    scheduler.start()
    return scheduler


async def serve_forever(jobs: list[Job], hub, redis) -> None:
    scheduler = start(jobs, hub, redis)
    try:
        await asyncio.Event().wait()
    finally:
        scheduler.shutdown(wait=False)
