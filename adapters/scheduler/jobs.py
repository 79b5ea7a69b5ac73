"""Job entrypoints: thin, each calls one domain service."""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.identity import housekeeping


async def purge_identity(resources) -> dict:
    return await housekeeping.purge_expired(now=resources.services["clock"].now())


async def flush_popularity(resources) -> dict:
    return await resources.services["catalog"].flush_popularity()


TOPIC_BOUNDARY_SECONDS = 5
_TOPIC_BOUNDARY_MARK = "govhub:job:topic-boundaries:checked-until"


async def announce_topic_boundaries(resources) -> dict:
    """Announce topics whose start or end time passed since the last tick (on any host): the
    mark in Redis makes consecutive ticks cover time without gaps or overlaps."""
    now = resources.services["clock"].now()
    mark = await resources.redis.aio.get(_TOPIC_BOUNDARY_MARK)
    since = datetime.fromisoformat(mark) if mark else now - timedelta(seconds=TOPIC_BOUNDARY_SECONDS)
    switched = await resources.services["topics"].announce_boundaries(since=since, until=now)
    await resources.redis.aio.set(_TOPIC_BOUNDARY_MARK, now.isoformat(), ex=86400)
    return {"switched": switched}


# jobs: applications
async def flag_overdue_applications(resources) -> dict:
    return await resources.services["applications"].flag_overdue()


async def purge_unused_uploads(resources) -> dict:
    return await resources.services["applications"].purge_unused_uploads()


# jobs: notifications
async def purge_consent_reports(resources) -> dict:
    return await resources.services["notifications"].purge_consent_reports()


# delivery: the outbox relay and its daily alert summary (docs/delivery.md)
RELAY_BATCH = 100
# A tick drains batches for at most this long: less than the job's interval (bff/app.py), so the
# per-tick Redis lock is still held while it runs. Leases keep relays apart even if it were not.
RELAY_BUDGET_SECONDS = 4.0


async def relay_deliveries(resources) -> dict:
    report = await resources.services["delivery"].drain(batch=RELAY_BATCH, budget_seconds=RELAY_BUDGET_SECONDS)
    return {"claimed": report.claimed, "delivered": report.delivered, "retrying": report.retrying,
            "parked": report.parked}


async def delivery_daily_summary(resources) -> dict:
    """Once a day: store the outbox summary (operators read it at /admin/v1/deliveries/summary)
    and log one structured warning line when anything is parked or stuck, for the alerting."""
    import json
    import logging

    summary = await resources.services["delivery"].take_daily_summary()
    if summary is None:
        return {"taken": False}
    if summary["parked_total"] or summary["stuck_pending"]:
        logging.getLogger("govhub.delivery.alert").warning(
            "delivery alert: %s parked, %s stuck pending; %s", summary["parked_total"], summary["stuck_pending"],
            json.dumps({"parked": summary["parked"][:20], "oldest_parked": summary["oldest_parked"]},
                       ensure_ascii=False), extra={"code": "delivery_alert"})
    return {"taken": True, "parked_total": summary["parked_total"], "stuck_pending": summary["stuck_pending"]}


# jobs: bundles (docs/bundles.md)
async def advance_bundles(resources) -> dict:
    """Runs woken by a step's transition, and open runs not looked at for a while."""
    return await resources.services["bundles"].advance_due()


async def flag_stuck_bundles(resources) -> dict:
    """Open runs past their deadline: flagged once and alerted (logger govhub.bundles.alert)."""
    return await resources.services["bundles"].flag_stuck()
