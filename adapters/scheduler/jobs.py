"""Job entrypoints: thin, each calls one domain service."""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.identity import housekeeping
from domain.partitions.service import PartitionService


async def purge_identity(hub) -> dict:
    return await housekeeping.purge_expired(now=hub.clock.now())


async def flush_popularity(hub) -> dict:
    return await hub.catalog.flush_popularity()


TOPIC_BOUNDARY_SECONDS = 5
_TOPIC_BOUNDARY_MARK = "govhub:job:topic-boundaries:checked-until"


async def announce_topic_boundaries(hub) -> dict:
    """Announce topics whose start or end time passed since the last tick (on any host): the
    mark in Redis makes consecutive ticks cover time without gaps or overlaps."""
    now = hub.clock.now()
    mark = await hub.redis.aio.get(_TOPIC_BOUNDARY_MARK)
    since = datetime.fromisoformat(mark) if mark else now - timedelta(seconds=TOPIC_BOUNDARY_SECONDS)
    switched = await hub.topics.announce_boundaries(since=since, until=now)
    await hub.redis.aio.set(_TOPIC_BOUNDARY_MARK, now.isoformat(), ex=86400)
    return {"switched": switched}


# jobs: applications
async def flag_overdue_applications(hub) -> dict:
    return await hub.applications.flag_overdue()


async def purge_unused_uploads(hub) -> dict:
    return await hub.applications.purge_unused_uploads()


# jobs: notifications
async def purge_consent_reports(hub) -> dict:
    return await hub.notifications.purge_consent_reports()


# delivery: the outbox relay and its daily alert summary (docs/delivery.md)
RELAY_BATCH = 100
# A tick drains batches for at most this long: less than the job's interval (bff/app.py), so the
# per-tick Redis lock is still held while it runs. Leases keep relays apart even if it were not.
RELAY_BUDGET_SECONDS = 4.0


async def relay_deliveries(hub) -> dict:
    report = await hub.delivery.drain(batch=RELAY_BATCH, budget_seconds=RELAY_BUDGET_SECONDS)
    return {"claimed": report.claimed, "delivered": report.delivered, "retrying": report.retrying,
            "parked": report.parked}


async def delivery_daily_summary(hub) -> dict:
    """Once a day: store the outbox summary (operators read it at /admin/v1/deliveries/summary)
    and log one structured warning line when anything is parked or stuck, for the alerting."""
    import json
    import logging

    summary = await hub.delivery.take_daily_summary()
    if summary is None:
        return {"taken": False}
    if summary["parked_total"] or summary["stuck_pending"]:
        logging.getLogger("govhub.delivery.alert").warning(
            "delivery alert: %s parked, %s stuck pending; %s", summary["parked_total"], summary["stuck_pending"],
            json.dumps({"parked": summary["parked"][:20], "oldest_parked": summary["oldest_parked"]},
                       ensure_ascii=False), extra={"code": "delivery_alert"})
    return {"taken": True, "parked_total": summary["parked_total"], "stuck_pending": summary["stuck_pending"]}


# jobs: bundles (docs/bundles.md)
async def advance_bundles(hub) -> dict:
    """Runs woken by a step's transition, and open runs not looked at for a while."""
    return await hub.bundles.advance_due()


async def flag_stuck_bundles(hub) -> dict:
    """Open runs past their deadline: flagged once and alerted (logger govhub.bundles.alert)."""
    return await hub.bundles.flag_stuck()


# jobs: data sharing
async def stamp_message_log(hub) -> dict:
    """Time-stamp the exchange's message log (RFC 3161); a failing authority leaves records waiting."""
    return {"stamped": await hub.sharing.stamp_pending()}


async def grant_housekeeping(hub) -> dict:
    """Requests nobody decided lapse; grants past their validity expire."""
    return await hub.sharing.grants.housekeeping()


async def health_housekeeping(hub) -> dict:
    """Revocation batches whose codes have all expired are dropped from the list (a delta says so)."""
    return await hub.health.housekeeping()


# jobs: the platform's figures (docs/console.md, "Dashboard")
async def roll_up_figures(hub) -> dict:
    """The previous and the current hour and their Beijing days, folded into the rollups the
    dashboard and /public/v1/figures read; re-running a period replaces it."""
    return await hub.figures.roll_up()


# month partitions (PostgreSQL; docs/partitions.md): the months ahead exist before rows arrive
async def ensure_partitions(hub) -> dict:
    partitions = PartitionService(clock=hub.clock)
    if not partitions.supported():
        return {"supported": False}
    return {"supported": True, "made": await partitions.ensure()}
