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
