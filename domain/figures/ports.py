"""What the figures need from outside: counters taken at request time, cheap and shared by every
worker (adapters/cache/traffic.py keeps them in Redis)."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol


class TrafficCounter(Protocol):
    """Counts of requests, page views and visitors, per hour (UTC) or Beijing day.

    The ``count_*`` methods never wait: they may keep counts in the process for a moment and send
    them together (``flush``). The readers answer what was sent, summed over the hours asked."""

    def count_request(self, *, hour: datetime, group: str, bucket: str, error: bool, times: int = 1) -> None: ...

    def count_page_view(self, *, hour: datetime, channel: str, times: int = 1) -> None: ...

    def count_visitor(self, *, day: date, channel: str, visitor: str) -> None:
        """``visitor``: an opaque key of a citizen or a device (never personal data in clear)."""

    async def flush(self) -> None:
        """Send what this process has counted and not yet sent."""

    def forget(self) -> None:
        """Drop what was counted and not sent (a store emptied under a running process: tests)."""

    async def requests(self, hours: Sequence[datetime]) -> dict[str, dict[str, int]]:
        """Route group -> {"requests": n, "errors": n, "<bucket>": n per duration bucket}."""

    async def page_views(self, hours: Sequence[datetime]) -> dict[str, int]:
        """Channel -> page views."""

    async def visitors(self, day: date) -> dict[str, int]:
        """Channel -> distinct visitors of the Beijing day (an estimate: ±1%)."""
