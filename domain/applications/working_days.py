"""Deadlines in working days on the official holiday calendar (``chinese_calendar``): what changes
each year when the State Council publishes the next year's holidays and make-up workdays."""
from __future__ import annotations

import logging
from datetime import date, timedelta

import chinese_calendar

log = logging.getLogger("govhub.applications")

OFFICIAL, WEEKENDS_ONLY = "official", "weekends_only"


def is_working_day(day: date) -> tuple[bool, bool]:
    """(working?, known to the official calendar?). Years the package does not cover yet fall
    back to Monday-Friday, and the caller records that the deadline is provisional."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: date, days: int) -> tuple[date, str]:
    """The ``days``-th working day after ``start`` (``start`` itself when ``days`` is 0: 即办件),
    and the calendar basis: ``official`` (holidays and make-up workdays) or ``weekends_only``."""
    current, counted, official = start, 0, True
    while counted < days:
        current += timedelta(days=1)
        working, known = is_working_day(current)
        official = official and known
        counted += working
    if not official:
        log.warning("deadline from %s + %d working days: no official calendar for that year, weekends only",
                    start, days)
    return current, OFFICIAL if official else WEEKENDS_ONLY


def working_days_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start)."""
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += is_working_day(current)[0]
    return count
