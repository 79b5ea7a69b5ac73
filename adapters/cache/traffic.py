"""Redis behind the figures' ``TrafficCounter`` port: requests, page views and visitors counted at
request time, for the ``roll_up_figures`` job to fold into the rollups (domain/figures).

A request adds to a tally in the process (no I/O on the request's path); the tally is sent within
``flush_seconds`` as one pipeline, so many requests cost one round trip. Keys (UTC hours; Beijing days):

- ``govhub:traffic:req:<yyyymmddhh>`` hash, fields ``<group>|requests``, ``<group>|errors`` and
  ``<group>|<bucket>`` (non-cumulative counts per duration bucket);
- ``govhub:traffic:pv:<yyyymmddhh>`` hash, a field per channel;
- ``govhub:traffic:uv:<yyyymmdd>:<channel>`` a HyperLogLog of the day's visitors (opaque keys: it
  keeps no member, only registers; ±0.81 %), and ``govhub:traffic:uv:<yyyymmdd>`` the set of its channels.

Every key lives ``keep_seconds`` (a week: the job can catch up on days it missed). Counts not yet
sent when Redis fails are dropped with a warning: a figure may lose those seconds, a request never fails.
"""
from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timezone

import redis.asyncio as aioredis

from adapters.cache.redis import FAILURES

log = logging.getLogger("govhub.figures")

_REQUESTS, _PAGE_VIEWS, _VISITORS = "govhub:traffic:req:", "govhub:traffic:pv:", "govhub:traffic:uv:"
WEEK = 7 * 24 * 3600 + 3600
MAX_PENDING = 20_000  # counts kept before a send is started at once


@functools.lru_cache(maxsize=64)  # the same few hours and days recur: strftime was a tenth of counting
def _hour(hour: datetime) -> str:
    return hour.astimezone(timezone.utc).strftime("%Y%m%d%H")


@functools.lru_cache(maxsize=64)
def _day(day: date) -> str:
    return day.strftime("%Y%m%d")


def _request_fields(requests: Counter[tuple[datetime, str, str, bool]]) -> Counter[tuple[str, str]]:
    """(hour, group, bucket, error) counts as the hour hashes' fields: requests, bucket, errors per group."""
    fields: Counter[tuple[str, str]] = Counter()
    for (hour, group, bucket, error), n in requests.items():
        key = _REQUESTS + _hour(hour)
        fields[(key, f"{group}|requests")] += n
        fields[(key, f"{group}|{bucket}")] += n
        if error:
            fields[(key, f"{group}|errors")] += n
    return fields


class RedisTraffic:
    def __init__(self, client: aioredis.Redis, *, flush_seconds: float = 1.0, keep_seconds: int = WEEK) -> None:
        self._client, self._flush_seconds, self._keep = client, flush_seconds, keep_seconds
        self._requests: Counter[tuple[datetime, str, str, bool]] = Counter()  # (hour, group, bucket, error)
        self._page_views: Counter[tuple[str, str]] = Counter()
        self._visitors: dict[tuple[date, str], set[str]] = {}
        self._pending = 0
        self._sending: asyncio.Task | None = None
        self._hurry = asyncio.Event()

    # --- counting (never waits) ---------------------------------------------------------------

    def count_request(self, *, hour: datetime, group: str, bucket: str, error: bool, times: int = 1) -> None:
        self._requests[(hour, group, bucket, error)] += times  # into hash fields when sent, not per request
        self._counted()

    def count_page_view(self, *, hour: datetime, channel: str, times: int = 1) -> None:
        self._page_views[(_PAGE_VIEWS + _hour(hour), channel)] += times
        self._counted()

    def count_visitor(self, *, day: date, channel: str, visitor: str) -> None:
        self._visitors.setdefault((day, channel), set()).add(visitor)
        self._counted()

    def _counted(self) -> None:
        self._pending += 1
        if self._pending >= MAX_PENDING:
            self._hurry.set()
        if self._sending is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no loop (a script): sent by the next flush()
                return
            # a context of its own: never inside a caller's transaction or request context
            self._sending = loop.create_task(self._send_soon(), context=contextvars.Context())

    async def _send_soon(self) -> None:
        """Sends the tally every ``flush_seconds`` (at once when it grew large) while there is one."""
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._hurry.wait(), self._flush_seconds)
                self._hurry.clear()
                await self.flush()
                if not self._pending:
                    return
        finally:
            if self._sending is asyncio.current_task():
                self._sending = None

    async def flush(self) -> None:
        requests, page_views, visitors = self._requests, self._page_views, self._visitors
        self._requests, self._page_views, self._visitors, self._pending = Counter(), Counter(), {}, 0
        if not (requests or page_views or visitors):
            return
        touched: set[str] = set()
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for (key, field), n in (_request_fields(requests) + page_views).items():
                    pipe.hincrby(key, field, n)
                    touched.add(key)
                for (when, channel), members in visitors.items():
                    day = _day(when)
                    pipe.pfadd(f"{_VISITORS}{day}:{channel}", *members)
                    pipe.sadd(_VISITORS + day, channel)
                    touched.update((f"{_VISITORS}{day}:{channel}", _VISITORS + day))
                for key in touched:
                    pipe.expire(key, self._keep)
                await pipe.execute()
        except (*FAILURES, OSError) as error:
            log.warning("traffic counts not sent (%s requests, %s page views dropped): %r",
                        sum(requests.values()), sum(page_views.values()), error)

    def forget(self) -> None:
        if self._sending is not None:
            self._sending.cancel()
        self._sending = None
        self._requests, self._page_views, self._visitors, self._pending = Counter(), Counter(), {}, 0

    # --- reading (the job) -----------------------------------------------------------------------

    async def requests(self, hours: Sequence[datetime]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for counted in await self._hashes(_REQUESTS, hours):
            for field, n in counted.items():
                group, _, name = field.rpartition("|")
                out.setdefault(group, {})
                out[group][name] = out[group].get(name, 0) + int(n)
        return out

    async def page_views(self, hours: Sequence[datetime]) -> dict[str, int]:
        out: Counter[str] = Counter()
        for counted in await self._hashes(_PAGE_VIEWS, hours):
            out.update({channel: int(n) for channel, n in counted.items()})
        return dict(out)

    async def visitors(self, day: date) -> dict[str, int]:
        channels = sorted(await self._client.smembers(_VISITORS + _day(day)))
        if not channels:
            return {}
        # one PFCOUNT per channel, not a pipeline: redis-py's cluster pipeline refuses PFCOUNT (it may
        # name several keys); a handful of channels, read once per rollup
        counts = await asyncio.gather(*(self._client.pfcount(f"{_VISITORS}{_day(day)}:{channel}")
                                        for channel in channels))
        return {channel: int(n) for channel, n in zip(channels, counts)}

    async def _hashes(self, prefix: str, hours: Sequence[datetime]) -> list[dict[str, str]]:
        async with self._client.pipeline(transaction=False) as pipe:
            for hour in hours:
                pipe.hgetall(prefix + _hour(hour))
            return await pipe.execute()
