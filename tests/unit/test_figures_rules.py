"""The figures' pure rules: duration buckets and the p95 they give, hours and Beijing days, the
dashboard's windows, and a dashboard assembled from rollup rows (sums, snapshots, series, p95 of a
period from its days' buckets)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bff.common.metrics import DURATION
from domain.figures import rules
from domain.figures.rules import DAY, HOUR, Row
from domain.shared.clock import SHANGHAI


def bj(*args) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


def test_the_buckets_are_those_of_the_metrics_histogram():
    assert rules.BUCKETS == tuple(DURATION._upper_bounds[:-1])
    assert rules.BUCKET_NAMES[-1] == "+Inf" and len(rules.BUCKET_NAMES) == len(DURATION._upper_bounds)


@pytest.mark.parametrize(("seconds", "bucket"), [(0, "0.005"), (0.005, "0.005"), (0.0051, "0.01"), (0.3, "0.5"),
                                                 (1.0, "1"), (9.99, "10"), (10.01, "+Inf"), (600, "+Inf")])
def test_a_duration_counts_in_the_first_bucket_it_fits_under(seconds, bucket):
    assert rules.bucket_of(seconds) == bucket


def test_p95_is_interpolated_within_its_bucket_as_prometheus_does():
    assert rules.quantile_us({}) is None and rules.quantile_us({"0.1": 0}) is None
    # 100 requests under 5 ms: rank 95 of 100 in (0, 5 ms]
    assert rules.quantile_us({"0.005": 100}) == 4750
    # 90 fast, 10 in (0.1, 0.25]: rank 95 is the 5th of 10 there -> 0.1 + 0.15 * 0.5 = 0.175 s
    assert rules.quantile_us({"0.01": 90, "0.25": 10}) == 175_000
    # the lower edge is the previous bucket's bound even when nothing was counted in it
    assert rules.quantile_us({"1": 20}) == round((0.75 + 0.25 * 0.95) * 1_000_000)
    # past the last bound: the largest finite bound, as histogram_quantile answers
    assert rules.quantile_us({"0.005": 1, "+Inf": 99}) == 10_000_000
    assert rules.quantile_us({"0.005": 95, "+Inf": 5}) == 5000


def test_p99_and_the_median_come_from_the_same_buckets():
    buckets = {"0.005": 50, "0.05": 40, "0.5": 10}
    assert rules.quantile_us(buckets, 0.5) == 5000
    assert rules.quantile_us(buckets, 0.99) == round((0.25 + 0.25 * 0.9) * 1_000_000)


def test_hours_are_utc_hours_and_days_are_beijing_days():
    late = bj(2026, 12, 1, 23, 59, 59)
    assert rules.hour_of(late) == datetime(2026, 12, 1, 15, tzinfo=timezone.utc)
    assert rules.day_of(late) == date(2026, 12, 1) and rules.day_of(late + timedelta(seconds=1)) == date(2026, 12, 2)
    start, end = rules.day_bounds(date(2026, 12, 1))
    assert (start, end) == (datetime(2026, 11, 30, 16, tzinfo=timezone.utc), datetime(2026, 12, 1, 16, tzinfo=timezone.utc))
    assert rules.hours_of_day(date(2026, 12, 1))[0] == start and len(rules.hours_of_day(date(2026, 12, 1))) == 24


def test_a_tick_just_after_beijing_midnight_finishes_yesterday_and_starts_today():
    due = rules.due(bj(2027, 1, 1, 0, 3))
    assert due.hours == (bj(2026, 12, 31, 23), bj(2027, 1, 1, 0))
    assert due.days == (date(2026, 12, 31), date(2027, 1, 1))
    assert rules.due(bj(2027, 1, 1, 14, 3)).days == (date(2027, 1, 1),)


def test_windows_today_by_hour_and_7_or_30_beijing_days_by_day():
    now = bj(2026, 12, 1, 9, 20)
    today = rules.window("today", now)
    assert today.grain == HOUR and today.days == (bj(2026, 12, 1),)
    assert today.slots[0] == bj(2026, 12, 1) and today.slots[-1] == bj(2026, 12, 1, 9) and len(today.slots) == 10
    week = rules.window("7d", now)
    assert week.grain == DAY and week.slots == week.days and len(week.days) == 7
    assert (week.days[0], week.days[-1]) == (bj(2026, 11, 25), bj(2026, 12, 1))
    month = rules.window("30d", now)
    assert len(month.days) == 30 and month.days[0] == bj(2026, 11, 2)
    # at 00:10 Beijing "today" is one hour old, though UTC is still on the day before
    assert len(rules.window("today", bj(2026, 12, 2, 0, 10)).slots) == 1
    with pytest.raises(ValueError):
        rules.window("year", now)
    assert rules.slot_label(bj(2026, 12, 1, 8), HOUR) == "08时" and rules.slot_label(bj(2026, 12, 1), DAY) == "12-01"


def test_count_rows_leave_zeros_out():
    rows = rules.count_rows(rules.PAGE_VIEWS, HOUR, bj(2026, 12, 1, 8), {"wechat": 3, "app": 0})
    assert rows == [Row(rules.PAGE_VIEWS, "wechat", HOUR, bj(2026, 12, 1, 8), 3)]


def test_a_dashboard_sums_counts_keeps_the_latest_snapshot_and_draws_series():
    now = bj(2026, 12, 3, 12)
    win = rules.window("7d", now)
    d1, d2, d3 = bj(2026, 12, 1), bj(2026, 12, 2), bj(2026, 12, 3)
    rows = [Row(rules.PAGE_VIEWS, "wechat", DAY, d1, 10), Row(rules.PAGE_VIEWS, "wechat", DAY, d3, 5),
            Row(rules.PAGE_VIEWS, "app", DAY, d2, 7),
            Row(rules.USERS_REGISTERED, "", DAY, d1, 100), Row(rules.USERS_REGISTERED, "", DAY, d3, 120),
            Row(rules.PAGE_VIEWS, "wechat", DAY, bj(2026, 11, 1), 999),  # outside the window
            Row(rules.PAGE_VIEWS, "wechat", HOUR, bj(2026, 12, 3, 8), 4)]  # not this window's grain
    board = rules.dashboard(win, rows)
    assert board.totals[rules.PAGE_VIEWS] == {"wechat": 15, "app": 7} and board.total(rules.PAGE_VIEWS) == 22
    assert board.total(rules.USERS_REGISTERED) == 120  # the latest day, not a sum
    assert board.series[rules.PAGE_VIEWS]["wechat"] == (0, 0, 0, 0, 10, 0, 5)
    assert board.series[rules.USERS_REGISTERED][""] == (0, 0, 0, 0, 100, 100, 120)  # carried over the gap
    assert board.labels[-1] == "12-03" and board.total(rules.VISITS) == 0


def test_a_periods_p95_comes_from_its_days_buckets_summed():
    win = rules.window("7d", bj(2026, 12, 3, 12))
    d1, d2 = bj(2026, 12, 2), bj(2026, 12, 3)
    rows = [Row(rules.REQUESTS, "wx", DAY, d1, 100), Row(rules.REQUESTS, "wx", DAY, d2, 100),
            Row(rules.ERRORS, "wx", DAY, d2, 2),
            Row(rules.LATENCY, "wx|0.005", DAY, d1, 100), Row(rules.LATENCY, "wx|0.25", DAY, d2, 100),
            Row(rules.P95, "wx", DAY, d1, 4750), Row(rules.P95, "wx", DAY, d2, 242_500),
            Row(rules.REQUESTS, "gov", DAY, d2, 3)]
    board = rules.dashboard(win, rows)
    wx = next(r for r in board.routes if r.group == "wx")
    assert (wx.requests, wx.errors, wx.error_rate) == (200, 2, 0.01)
    # rank 190 of 200: the 90th of the 100 in (0.1, 0.25] -> 0.1 + 0.15 * 0.9 s
    assert wx.p95_ms == pytest.approx(235.0)
    gov = next(r for r in board.routes if r.group == "gov")
    assert (gov.requests, gov.p95_ms, gov.error_rate) == (3, None, 0.0)
    assert rules.LATENCY not in board.series and board.series[rules.P95]["wx"][-2:] == (4750, 242_500)


def test_error_rate_of_nothing_is_none():
    assert rules.error_rate(0, 0) is None and rules.error_rate(4, 1) == 0.25
