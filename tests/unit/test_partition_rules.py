"""Month partitions' pure rules (domain/partitions/rules.py): months, names, what to make, what to detach."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from domain.applications import rules as application_rules
from domain.partitions import rules
from domain.partitions.rules import Month, MonthInvalid


def test_a_month_is_its_utc_month_with_half_open_bounds():
    beijing_new_year = datetime(2027, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=8)))
    assert Month.of(beijing_new_year) == Month(2026, 12)  # still December in UTC
    december = Month(2026, 12)
    assert (december.start, december.end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    assert december.next() == Month(2027, 1) and december.next(14) == Month(2028, 2)
    assert str(Month(2027, 3)) == "2027-03"
    with pytest.raises(ValueError):
        Month.of(datetime(2026, 12, 1))  # naive: which month would it be?


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "26-01", "2026/01", "", "2026-1"])
def test_a_month_given_as_text_must_be_yyyy_mm(text):
    with pytest.raises(MonthInvalid):
        Month.parse(text)


def test_partition_names_round_trip_and_ignore_others():
    name = rules.partition_name("deliveries", Month(2027, 2))
    assert name == "deliveries_y2027m02"
    assert rules.month_of_partition("deliveries", name) == Month(2027, 2)
    assert rules.month_of_partition("applications", name) is None  # another table's
    assert rules.month_of_partition("deliveries", rules.default_partition_name("deliveries")) is None


def test_months_to_cover_are_the_current_one_and_those_ahead_across_a_year_end():
    assert rules.months_to_cover(datetime(2026, 11, 30, 23, tzinfo=UTC), 2) == [
        Month(2026, 11), Month(2026, 12), Month(2027, 1)]
    assert rules.months_between(Month(2026, 12), Month(2027, 2)) == [Month(2026, 12), Month(2027, 1), Month(2027, 2)]
    assert rules.months_between(Month(2027, 2), Month(2026, 12)) == []


def test_only_ended_months_before_the_bound_are_detachable_oldest_first():
    names = ["applications_y2026m10", "applications_default", "applications_y2026m08", "applications_y2026m11",
             "deliveries_y2026m01", "applications_keys"]
    assert rules.detachable("applications", names, Month(2026, 11)) == [
        ("applications_y2026m08", Month(2026, 8)), ("applications_y2026m10", Month(2026, 10))]
    now = datetime(2026, 12, 6, tzinfo=UTC)
    assert rules.detach_problem(Month(2026, 12), now) is None  # every month before December has ended
    assert "ended" in rules.detach_problem(Month(2027, 1), now)  # December still takes rows


@pytest.mark.parametrize(("number", "start"), [
    ("330106-20261205-000123", datetime(2026, 12, 4, 16, tzinfo=UTC)),
    ("110000-20270101-000001", datetime(2026, 12, 31, 16, tzinfo=UTC)),  # a Beijing day across two UTC months
])
def test_a_number_gives_the_beijing_day_it_was_submitted_in(number, start):
    assert rules.day_window_of_number(number) == (start, start + timedelta(days=1))
    assert application_rules.by_number(number) == {"number": number, "submitted_at__gte": start,
                                                   "submitted_at__lt": start + timedelta(days=1)}


@pytest.mark.parametrize("number", ["330106-20261332-000001", "not-a-number", "330106-2026120-000001", ""])
def test_text_not_shaped_like_a_number_is_looked_up_by_number_alone(number):
    assert rules.day_window_of_number(number) is None
    assert application_rules.by_number(number) == {"number": number}


def test_the_window_agrees_with_how_numbers_are_made():
    submitted = datetime(2026, 11, 30, 17, 5, tzinfo=UTC)  # already 1 December in Beijing
    day = submitted.astimezone(timezone(timedelta(hours=8))).date()
    low, high = rules.day_window_of_number(application_rules.number_of("330106000000", day, 7))
    assert low <= submitted < high
