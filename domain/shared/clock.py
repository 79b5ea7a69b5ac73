"""One clock for the domain, so tests can move time instead of sleeping.

Every process of the hub — the hub itself, the department stub, the journeys — reads time from a
``Clock``. A clock may run ahead of (or behind) the wall clock by a fixed offset
(``GOVHUB_CLOCK_OFFSET`` seconds, never in production): the whole suite can then be run as if it
were a month end, a year end or just after Beijing midnight, with every process agreeing on the
time because they share the one offset.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFSET_VARIABLE = "GOVHUB_CLOCK_OFFSET"


def beijing_day_start(day: date) -> datetime:
    """00:00 of a Beijing calendar day, in UTC — the zone rows store. A bound must be UTC to compare
    with stored times: SQLite compares their text, and "…+08:00" sorts against "…+00:00" by characters."""
    return datetime.combine(day, time.min, tzinfo=SHANGHAI).astimezone(timezone.utc)


def offset_from(raw: str | None) -> float:
    """The offset a process was started with (the value of ``GOVHUB_CLOCK_OFFSET``); 0 when unset."""
    if raw is None or not raw.strip():
        return 0.0
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{OFFSET_VARIABLE} should be seconds, got {raw!r}") from None


class Clock:
    """UTC wall clock, moved by ``offset_seconds``. ``FrozenClock`` replaces it in unit tests."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self._offset = timedelta(seconds=offset_seconds)

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def timestamp(self) -> float:
        """Seconds since the epoch, as signed requests carry them."""
        return self.now().timestamp()

    def today(self) -> date:
        """Today in Beijing: the calendar every rule of the hub counts in."""
        return self.now().astimezone(SHANGHAI).date()


class FrozenClock(Clock):
    def __init__(self, at: datetime) -> None:
        super().__init__()
        self._at = at

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float) -> None:
        self._at += timedelta(seconds=seconds)
