"""The published topics, held in this instance's memory between changes.

Trust rules, because a stale home page is what this cache could cost:
- it is used only while the change feed is subscribed (``live``): a dropped subscription may
  have missed invalidations, so until it is back every read goes to the database;
- every invalidation bumps ``generation``; a load that began before an invalidation is not
  stored, or a read racing a change could keep the old list alive;
- entries older than ``max_age`` seconds are reloaded anyway, a bound on the damage of an
  invalidation that was never published (Redis down at commit time).
Region and time are filtered after the cache: one list per channel serves every region, and a
topic's own start and end times need no invalidation to take effect.
"""
from __future__ import annotations

import time
from collections.abc import Callable

from domain.topics.views import TopicView


class PublishedCache:
    def __init__(self, *, max_age: float = 60.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._max_age = max_age
        self._monotonic = monotonic
        self._topics: tuple[TopicView, ...] | None = None
        self._by_channel: dict[str, tuple[TopicView, ...]] = {}
        self._loaded_at = 0.0
        self.generation = 0
        self.live = False

    def get(self, channel: str) -> tuple[TopicView, ...] | None:
        """The published topics on ``channel`` (ordered), or None when the caller must load."""
        # Not live means empty: set_live(False) drops the list and store() refuses until live.
        if self._topics is None or self._monotonic() - self._loaded_at > self._max_age:
            return None
        if channel not in self._by_channel:
            self._by_channel[channel] = tuple(t for t in self._topics if channel in t.channels)
        return self._by_channel[channel]

    def begin_load(self) -> int:
        """Call before reading the database; hand the result to ``store``."""
        return self.generation

    def store(self, generation: int, topics: tuple[TopicView, ...]) -> None:
        if self.live and generation == self.generation:
            self._topics, self._by_channel, self._loaded_at = topics, {}, self._monotonic()

    def invalidate(self) -> None:
        self.generation += 1
        self._topics, self._by_channel = None, {}

    def set_live(self, live: bool) -> None:
        """The feed (re)subscribed (True) or dropped (False): either way, forget what we hold."""
        self.invalidate()
        self.live = live
