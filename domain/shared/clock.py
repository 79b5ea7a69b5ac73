"""One clock for the domain, so tests can move time instead of sleeping."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing_day_start(day: date) -> datetime:
    """00:00 of a Beijing calendar day, in UTC — the zone rows store. A bound must be UTC to compare
    with stored times: SQLite compares their text, and "…+08:00" sorts against "…+00:00" by characters."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(timezone.utc)


class Clock:
    """UTC wall clock. ``FrozenClock`` replaces it in tests."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


class FrozenClock(Clock):
    def __init__(self, at: datetime | None = None) -> None:
        self._at = at or datetime.now(timezone.utc)

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float) -> None:
        self._at += timedelta(seconds=seconds)
