"""Month partitions (docs/partitions.md): pure rules over calendar months, no I/O.

PostgreSQL keeps the tables that grow without end (applications, deliveries, notifications) in one
partition per calendar month of UTC, plus a DEFAULT partition so an insert never fails. These
rules name the partitions, give their bounds, say which months to make ahead of time and which
an operator may detach; service.py does the SQL (PostgreSQL only).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from domain.shared.clock import beijing_day_start

_NAME = re.compile(r"^(?P<table>[a-z_]+)_y(?P<year>\d{4})m(?P<month>\d{2})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_NUMBER_DAY = re.compile(r"^\d{6}-(\d{4})(\d{2})(\d{2})-\d+$")


class MonthInvalid(ValueError):
    """A month given as text is not ``YYYY-MM``."""


@dataclass(frozen=True, order=True)
class Month:
    """A calendar month of UTC: the unit of partitioning."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1970 <= self.year <= 9999:
            raise MonthInvalid(f"{self.year:04d}-{self.month:02d} is not a month")

    @classmethod
    def of(cls, at: datetime) -> Month:
        """The UTC month ``at`` falls in (an aware datetime)."""
        if at.tzinfo is None:
            raise ValueError("an aware datetime is needed: partitions are by UTC month")
        utc = at.astimezone(UTC)
        return cls(utc.year, utc.month)

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match(text.strip())
        if not match:
            raise MonthInvalid(f"{text!r} is not YYYY-MM")
        return cls(int(match[1]), int(match[2]))

    def next(self, count: int = 1) -> Month:
        index = self.year * 12 + self.month - 1 + count
        return Month(index // 12, index % 12 + 1)

    @property
    def start(self) -> datetime:
        """The first instant of the month (inclusive bound of its partition)."""
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant of the next month (exclusive bound)."""
        return self.next().start

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"


def partition_name(table: str, month: Month) -> str:
    return f"{table}_y{month.year:04d}m{month.month:02d}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def month_of_partition(table: str, name: str) -> Month | None:
    """The month a partition of ``table`` holds, or None for the default or a foreign name."""
    match = _NAME.match(name)
    if not match or match["table"] != table:
        return None
    return Month(int(match["year"]), int(match["month"]))


def months_to_cover(now: datetime, ahead: int) -> list[Month]:
    """The current month and ``ahead`` months after it: what must exist before rows arrive, so
    the DEFAULT partition stays empty (a month made later must first move its rows out of it)."""
    current = Month.of(now)
    return [current.next(i) for i in range(ahead + 1)]


def months_between(first: Month, last: Month) -> list[Month]:
    """Every month from ``first`` to ``last`` inclusive (empty if ``last`` is before ``first``)."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month.next()
    return months


def detach_problem(before: Month, now: datetime) -> str | None:
    """Why ``--before`` cannot be used now, or None: only months that have ended may be detached
    (the current month still takes inserts; a month ahead would send its rows to DEFAULT)."""
    if before > Month.of(now):
        return f"only months that have ended can be detached: --before must be {Month.of(now)} or earlier"
    return None


def detachable(table: str, names: list[str], before: Month) -> list[tuple[str, Month]]:
    """The month partitions of ``table`` among ``names`` that end before ``before`` starts,
    oldest first; the DEFAULT partition and names of other tables never are."""
    found = [(name, month) for name in names if (month := month_of_partition(table, name)) is not None]
    return sorted(((n, m) for n, m in found if m < before), key=lambda item: item[1])


def day_window_of_number(number: str) -> tuple[datetime, datetime] | None:
    """The instants an application with this number was submitted in: its number carries the
    Beijing date of submission (``<region6>-<yyyymmdd>-<seq>``, made from the same clock reading
    as ``submitted_at``). A lookup by number adds this range so PostgreSQL prunes to one or two
    month partitions. None when the text is not shaped like a number (the lookup then finds
    nothing anyway, or scans every partition)."""
    match = _NUMBER_DAY.match(number) if isinstance(number, str) else None
    if not match:
        return None
    try:
        day = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None
    start = beijing_day_start(day)
    return start, start + timedelta(days=1)
