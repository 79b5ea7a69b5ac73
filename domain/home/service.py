"""A channel's home page in one call: published topics for the channel and region, the region's hot
list, and for a logged-in citizen the count of their open items.

The page is the same for everyone in a region (a citizen's own part, the open items, is asked for
apart): the hot list is memoised in the process for a few seconds; topic changes still show within a
second because the topic list itself comes from the topic service, whose cache is invalidated over
pub/sub.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any, Awaitable, Callable

from domain.shared.clock import Clock

NATIONWIDE = "000000000000"
HOT_LIST_SIZE = 10
HOT_MEMO_SECONDS = 5.0


@dataclass(frozen=True)
class HomeView:
    region_code: str
    topics: list[Any]  # the topic service's views, in display order
    hot: list[dict]
    open_items: int | None  # None when nobody is logged in


class HomeService:
    def __init__(self, *, topics, catalog, clock: Clock,
                 open_items: Callable[[str], Awaitable[int]] | None = None) -> None:
        self.topics, self.catalog, self.clock = topics, catalog, clock
        self._open_items = open_items
        self._hot: dict[tuple[str, str], tuple[float, list[dict]]] = {}  # (region, channel) -> (at, list)

    async def home(self, *, channel: str, region_code: str) -> HomeView:
        """The page everyone in the region sees on the channel (``open_items`` None: nobody's own)."""
        region = None if region_code == NATIONWIDE else region_code  # topics: None = nationwide only
        topics = await self.topics.published(channel=channel, region_code=region, now=self.clock.now())
        return HomeView(region_code=region_code, topics=await self._titled(topics),
                        hot=await self._hot_list(region_code, channel), open_items=None)

    async def open_items(self, person_id: str) -> int:
        """A logged-in citizen's own part of the page: the count of their open applications."""
        return await self._open_items(person_id) if self._open_items else 0

    async def _titled(self, topics: list[Any]) -> list[Any]:
        """Matter entries without a title of their own show the matter's (or catalog item's) name."""
        refs = sorted({e.ref for t in topics for e in t.entries if e.kind == "matter" and not e.title})
        names = await self.catalog.names_of(refs)
        if not names:
            return topics
        return [replace(t, entries=tuple(replace(e, title=e.title or names.get(e.ref)) if e.kind == "matter" else e
                                         for e in t.entries)) for t in topics]

    async def _hot_list(self, region_code: str, channel: str) -> list[dict]:
        now = time.monotonic()
        memo = self._hot.get((region_code, channel))
        if memo and now - memo[0] < HOT_MEMO_SECONDS:
            return memo[1]
        hot = await self.catalog.hot(region_code=region_code, channel=channel, limit=HOT_LIST_SIZE)
        if len(self._hot) > 20000:  # ~3,000 counties x channels; never let the memo grow without bound
            self._hot.clear()
        self._hot[(region_code, channel)] = (now, hot)
        return hot
