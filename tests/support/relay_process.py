"""A relay in its own process, for tests that kill it (``python -m tests.support.relay_process``).

It builds the hub's resources as the scheduler process does and relays forever: either calling
``DeliveryService.relay_due`` directly, or (``--via-scheduler``) through the scheduler's
Redis-locked job, the way production runs it. A short ``--lease`` lets a test's second relay take
over a killed one's rows in seconds instead of minutes.
"""
from __future__ import annotations

import argparse
import asyncio
import logging

from dataclasses import replace

from bff.container import build_hub, close_hub
from bff.settings import Settings
from domain.delivery.service import DeliveryService
from tests.support.clock import OFFSET  # the suite's moved clock, inherited from the test run


async def main(args: argparse.Namespace) -> None:
    settings = Settings(env="test", database_url=args.database_url, redis_url=args.redis_url, mock_port=args.mock_port,
                        scheduler_enabled=False, seed_demo=False, log_level="WARNING", clock_offset=OFFSET)
    built = await build_hub(settings)
    relay = DeliveryService(
        clock=built.clock, vault=built.vault, senders=built.delivery.senders,
        relay_name=args.name,
        lease_seconds=args.lease, concurrency=args.concurrency, send_timeout=5.0)
    resources = replace(built, delivery=relay)
    print("relay ready", flush=True)
    try:
        while True:
            if args.via_scheduler:
                from adapters.scheduler.runner import Job, run_once

                try:
                    await run_once(Job("adapters.scheduler.jobs:relay_deliveries", seconds=1), resources,
                                   resources.redis.aio)
                except Exception as exc:  # as APScheduler does: the tick fails, the next one runs
                    logging.getLogger("relay_process").warning("tick failed: %r", exc)
                await asyncio.sleep(0.2)
            elif not (await relay.relay_due(args.batch)).claimed:
                await asyncio.sleep(0.05)
    finally:
        await close_hub(resources)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--redis-url", default="")
    parser.add_argument("--mock-port", type=int, default=8001)
    parser.add_argument("--name", default="relay")
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--via-scheduler", action="store_true")
    asyncio.run(main(parser.parse_args()))
