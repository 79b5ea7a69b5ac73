"""One value loaded from the database and kept in this process while a change feed vouches for it.

For what every request reads and a few editors change, where a change must show everywhere at
once (the search words dictionary). The rules are the topics cache's (domain/topics/cache.py):
- the value is kept only while the feed is subscribed (``live``): a dropped subscription may have
  missed an invalidation, so until it is back every read loads;
- every invalidation bumps ``generation``: a load that began before it is not kept, or a read
  racing a change could keep the old value alive;
- a value older than ``max_age`` seconds is loaded again: the bound on an invalidation that was
  never published (Redis down at commit time);
- concurrent misses share one load (a burst right after an invalidation is one query);
- this process marks its own announcements (``origin``): it dropped its value at commit already,
  and its echo arriving later would only throw away a value loaded after the change.
Without a feed (one process on its own: a script, a benchmark) there is nobody to hear from: the
value is kept for ``max_age`` and this process's own changes invalidate it.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

from domain.shared.errors import UpstreamUnavailable

V = TypeVar("V")
log = logging.getLogger("govhub.followed")


class Feed(Protocol):
    """The shape of ``domain.topics.ports.ChangeFeed`` (Redis pub/sub: adapters/cache/pubsub.py)."""

    async def publish(self, message: dict) -> None: ...

    async def follow(self, *, on_message: Callable[[dict], None], on_subscribed: Callable[[], None],
                     on_lost: Callable[[], None]) -> None: ...


class Followed(Generic[V]):
    def __init__(self, load: Callable[[], Awaitable[V]], *, feed: Feed | None, name: str,
                 max_age: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._load, self._feed, self._name = load, feed, name
        self._max_age, self._monotonic = max_age, monotonic
        self._value: tuple[float, V] | None = None
        self._inflight: tuple[int, asyncio.Future] | None = None
        self._origin = secrets.token_hex(8)
        self.generation = 0
        self.live = feed is None

    async def get(self) -> V:
        kept = self._value
        if kept is not None and self._monotonic() - kept[0] <= self._max_age:
            return kept[1]
        generation = self.generation
        if self._inflight is None or self._inflight[0] != generation or self._inflight[1].done():
            self._inflight = (generation, asyncio.ensure_future(self._load()))
        task = self._inflight[1]
        try:
            value = await asyncio.shield(task)
        finally:
            if self._inflight is not None and self._inflight[1] is task and task.done():
                self._inflight = None
        if self.live and generation == self.generation:
            self._value = (self._monotonic(), value)
        return value

    def invalidate(self) -> None:
        self.generation += 1
        self._value = None

    def set_live(self, live: bool) -> None:
        """The feed (re)subscribed or dropped: either way, forget what is kept."""
        self.invalidate()
        self.live = live

    async def announce(self, message: dict) -> None:
        """After a commit: drop this process's value at once, then tell the others. A feed outage
        is logged, not raised: the change is committed, and the others reload within max_age."""
        self.invalidate()
        if self._feed is None:
            return
        try:
            await self._feed.publish({**message, "origin": self._origin})
        except UpstreamUnavailable:
            log.warning("%s changed (%s) but the change feed is unavailable; other instances catch up "
                        "within %s s", self._name, message, self._max_age)

    async def follow(self) -> None:
        """Run for the life of a serving process (a background task); returns at once without a feed."""
        if self._feed is None:
            return

        def on_message(message: dict) -> None:
            if message.get("origin") != self._origin:
                log.debug("%s changed elsewhere: %s", self._name, message)
                self.invalidate()

        await self._feed.follow(on_message=on_message, on_subscribed=lambda: self.set_live(True),
                                on_lost=lambda: self.set_live(False))
