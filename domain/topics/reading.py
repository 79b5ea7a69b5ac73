"""The citizen side of topics: published topics per channel and region, served from the
per-instance cache (``cache.py``) and kept fresh by the change feed (``ports.ChangeFeed``)."""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime

from tortoise.expressions import Q

from domain.shared.clock import Clock
from domain.shared.errors import InvalidInput, UpstreamUnavailable
from domain.topics import rules
from domain.topics.cache import PublishedCache
from domain.topics.errors import TopicNotFound
from domain.topics.models import Topic
from domain.topics.ports import ChangeFeed
from domain.topics.views import TopicView, ordering_key, view

log = logging.getLogger("govhub.topics")


@dataclass(frozen=True)
class PublishedLookup:
    topics: list[TopicView]
    from_cache: bool  # False: this call read the database


class TopicReader:
    def __init__(self, *, clock: Clock, feed: ChangeFeed | None, cache: PublishedCache) -> None:
        self._clock = clock
        self._feed = feed
        self._cache = cache
        self._inflight: tuple[int, asyncio.Future] | None = None
        # Marks this instance's own announcements: it dropped its cache at commit already, and
        # its echo arriving later would only throw away a list loaded after the change.
        self._origin = secrets.token_hex(8)

    @property
    def generation(self) -> int:
        """Grows with every invalidation seen here: a cache built on topics (e.g. a home page)
        is still good while the generation it was built at is the current one."""
        return self._cache.generation

    async def published(self, *, channel: str, region_code: str | None,
                        now: datetime | None = None) -> list[TopicView]:
        """The topics ``channel`` shows to a citizen of ``region_code`` (None: unknown region,
        nationwide topics only) at ``now``, highest weight first."""
        return (await self.lookup_published(channel=channel, region_code=region_code, now=now)).topics

    async def lookup_published(self, *, channel: str, region_code: str | None,
                               now: datetime | None = None) -> PublishedLookup:
        """As ``published``, also saying whether the cache answered."""
        self.check_audience(channel, region_code)
        now = now or self._clock.now()
        topics = self._cache.get(channel)
        from_cache = topics is not None
        if topics is None:
            topics = tuple(t for t in await self._load() if channel in t.channels)
        visible = [t for t in topics if rules.visibility(t, channel, region_code, now).visible]
        return PublishedLookup(visible, from_cache)

    async def get_published(self, code: str, *, channel: str, region_code: str | None,
                            now: datetime | None = None) -> TopicView:
        """One topic for its own page, if this channel and region see it now; else TopicNotFound."""
        for topic in await self.published(channel=channel, region_code=region_code, now=now):
            if topic.code == code:
                return topic
        raise TopicNotFound(f"专题 {code} 不存在或未在此展示")

    @staticmethod
    def check_audience(channel: str, region_code: str | None) -> None:
        problems = []
        if channel not in rules.CHANNELS:
            problems.append({"field": "channel", "message": "应为 " + "、".join(rules.CHANNELS) + " 之一"})
        if region_code is not None and rules.region_code_problem(region_code):
            problems.append({"field": "region", "message": rules.region_code_problem(region_code)})
        if problems:
            raise InvalidInput("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)

    # --- keeping every instance fresh --------------------------------------------------------------

    def invalidate(self) -> None:
        self._cache.invalidate()

    async def announce_change(self, message: dict) -> None:
        """After a commit: drop this instance's cache at once, then tell the others. A feed
        outage is logged, not raised: the change is committed, and the others' caches expire
        by themselves within their max age."""
        self._cache.invalidate()
        if self._feed is None:
            return
        try:
            await self._feed.publish({**message, "origin": self._origin})
        except UpstreamUnavailable:
            log.warning("topics changed (%s) but the change feed is unavailable; other instances "
                        "catch up when their cache expires", message)

    async def follow_changes(self) -> None:
        """Run for the life of a serving instance (a background task): every message drops the
        cache, and the cache is trusted only while subscribed."""
        if self._feed is None:
            return

        def on_message(message: dict) -> None:
            if message.get("origin") != self._origin:
                log.debug("topics changed elsewhere: %s", message)
                self._cache.invalidate()

        await self._feed.follow(on_message=on_message, on_subscribed=lambda: self._cache.set_live(True),
                                on_lost=lambda: self._cache.set_live(False))

    async def announce_boundaries(self, *, since: datetime, until: datetime) -> list[str]:
        """Topics that switched themselves on or off in (since, until]: announced as a change so
        that caches built on the list (home pages) refresh. Returns their codes."""
        window = Q(starts_at__gt=since, starts_at__lte=until) | Q(ends_at__gt=since, ends_at__lte=until)
        codes = [t.code for t in await Topic.filter(window, status="published")
                 if rules.boundary_passed(t.starts_at, t.ends_at, since, until)]
        if codes:
            await self.announce_change({"topics": codes, "action": "topic.schedule"})
        return codes

    # --- loading -------------------------------------------------------------------------------

    async def _load(self) -> tuple[TopicView, ...]:
        """Every published topic, in order. Concurrent misses share one query (a burst of
        requests right after an invalidation must not become a burst of queries)."""
        generation = self._cache.begin_load()
        if self._inflight is None or self._inflight[0] != generation or self._inflight[1].done():
            self._inflight = (generation, asyncio.ensure_future(self._read()))
        generation, task = self._inflight
        try:
            topics = await asyncio.shield(task)
        finally:
            if self._inflight is not None and self._inflight[1] is task and task.done():
                self._inflight = None
        self._cache.store(generation, topics)
        return topics

    @staticmethod
    async def _read() -> tuple[TopicView, ...]:
        return tuple(sorted((view(t) for t in await Topic.filter(status="published")), key=ordering_key))
