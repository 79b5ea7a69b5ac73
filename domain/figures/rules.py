"""Pure rules of the platform's figures (平台运行数据): no I/O, no clock of their own.

- what a figure is, and whether its value is a count summed over periods or a snapshot at a
  period's end;
- hours (UTC, which are whole Beijing hours too) and Beijing days, the periods rollups are kept for,
  and the windows the dashboard shows (today by hour, 7 and 30 days by day);
- the latency buckets request durations are counted in, and the p95 they give;
- a dashboard assembled from rollup rows.
"""
from __future__ import annotations

import bisect
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone

from domain.shared.clock import SHANGHAI, beijing_day_start

# --- figures ----------------------------------------------------------------------------------

USERS_REGISTERED = "users_registered"  # people, as of the period's end (merged duplicates left out)
USERS_REAL_NAME = "users_real_name"  # ... of whom real-name verified
VISITS = "visits"  # distinct citizens or devices of a Beijing day, per channel (day rollups only)
PAGE_VIEWS = "page_views"  # home, search and matter detail pages answered, per channel
SUBMITTED = "applications_submitted"  # per channel
COMPLETED = "applications_completed"  # applications that reached 办结
INSTANT_APPROVALS = "instant_approvals"  # applications approved by 秒批 (no examiner)
LICENSES_ISSUED = "licenses_issued"
LICENSES_SHOWN = "licenses_shown"  # presentations made (亮证)
EXCHANGE_CALLS = "exchange_calls"  # calls through the data exchange, per consumer department
IDENTITY_CHECKS = "identity_verifications"  # identity verifications departments asked for, per consumer
REQUESTS = "requests"  # per route group
ERRORS = "errors"  # 5xx answers, per route group
LATENCY = "latency"  # requests per duration bucket: dimension "<group>|<bucket>", day rollups only
P95 = "p95_us"  # the 95th percentile of durations, in microseconds, per route group

SNAPSHOTS = frozenset({USERS_REGISTERED, USERS_REAL_NAME})  # a value as of the period's end: never summed
FIGURE_NAMES = {
    USERS_REGISTERED: "注册用户", USERS_REAL_NAME: "实名用户", VISITS: "访客", PAGE_VIEWS: "浏览量",
    SUBMITTED: "提交办件", COMPLETED: "办结办件", INSTANT_APPROVALS: "秒批通过", LICENSES_ISSUED: "签发证照",
    LICENSES_SHOWN: "亮证次数", EXCHANGE_CALLS: "数据交换调用", IDENTITY_CHECKS: "身份核验调用",
    REQUESTS: "请求数", ERRORS: "服务端错误", P95: "P95 耗时",
}
# the figures the public route shows: counts a citizen understands, never a department's own
HEADLINE = (VISITS, PAGE_VIEWS, SUBMITTED, COMPLETED, INSTANT_APPROVALS, LICENSES_ISSUED, LICENSES_SHOWN,
            EXCHANGE_CALLS, IDENTITY_CHECKS)

HOUR, DAY = "hour", "day"


@dataclass(frozen=True)
class Row:
    """One rollup: ``figure`` for ``dimension`` ("" when it has none) over one hour or one day."""

    figure: str
    dimension: str
    grain: str
    period_start: datetime  # UTC: the hour, or 00:00 of the Beijing day
    value: int


def count_rows(figure: str, grain: str, start: datetime, counts: Mapping[str, int]) -> list[Row]:
    """A row per dimension counted (zeros left out: a missing row reads as 0)."""
    return [Row(figure, dimension, grain, start, int(value))
            for dimension, value in sorted(counts.items()) if value]


# --- periods ----------------------------------------------------------------------------------

def hour_of(moment: datetime) -> datetime:
    """The UTC hour ``moment`` falls in (Beijing is UTC+8 all year: the same hour there)."""
    return moment.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> date:
    """The Beijing calendar day of ``moment``."""
    return moment.astimezone(SHANGHAI).date()


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The Beijing day as UTC bounds: [00:00, next 00:00)."""
    return beijing_day_start(day), beijing_day_start(day + timedelta(days=1))


def level_base(until: datetime) -> tuple[datetime, datetime]:
    """For a snapshot at ``until`` (the people): the start of its Beijing day, from which the day's
    changes are counted, and the start of the day before, whose day rollup holds the level at that
    start once it was rolled up after the day ended. ``until`` at midnight ends the day before it."""
    day = day_of(until - timedelta(microseconds=1))
    return day_bounds(day)[0], day_bounds(day - timedelta(days=1))[0]


def hours_of_day(day: date) -> list[datetime]:
    start, _ = day_bounds(day)
    return [start + timedelta(hours=n) for n in range(24)]


@dataclass(frozen=True)
class Due:
    """What one tick of the job rolls up: hours and Beijing days."""

    hours: tuple[datetime, ...]
    days: tuple[date, ...]


def due(now: datetime) -> Due:
    """The previous and the current hour, and the days they belong to: a count that arrives late
    for the hour just ended is still folded, and the day just ended is finished after midnight."""
    current = hour_of(now)
    hours = (current - timedelta(hours=1), current)
    return Due(hours, tuple(sorted({day_of(h) for h in hours})))


PERIODS = {"today": 1, "7d": 7, "30d": 30}
PERIOD_NAMES = {"today": "今日", "7d": "近 7 天", "30d": "近 30 天"}


@dataclass(frozen=True)
class Window:
    """What the dashboard shows for a period: its Beijing days (the totals) and its slots (the
    points of each series): today's hours so far, or the days."""

    period: str
    grain: str
    start: datetime
    days: tuple[datetime, ...]
    slots: tuple[datetime, ...]


def window(period: str, now: datetime) -> Window:
    if period not in PERIODS:
        raise ValueError(f"unknown period {period!r}")
    today = day_of(now)
    days = tuple(beijing_day_start(today - timedelta(days=n)) for n in range(PERIODS[period] - 1, -1, -1))
    if period == "today":
        hours = int((hour_of(now) - days[0]).total_seconds() // 3600)
        slots = tuple(days[0] + timedelta(hours=n) for n in range(hours + 1))
        return Window(period, HOUR, days[0], days, slots)
    return Window(period, DAY, days[0], days, days)


def slot_label(slot: datetime, grain: str) -> str:
    local = slot.astimezone(SHANGHAI)
    return f"{local:%H}时" if grain == HOUR else f"{local:%m-%d}"


# --- latency --------------------------------------------------------------------------------

# prometheus_client's default histogram buckets, the ones /metrics reports (seconds): a request is
# counted in the first bucket its duration fits under, "+Inf" past the last
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
INF = "+Inf"
BUCKET_NAMES = tuple(format(b, "g") for b in BUCKETS) + (INF,)


def bucket_index(seconds: float) -> int:
    """The index in ``BUCKET_NAMES`` of the first bucket ``seconds`` fits under (``len(BUCKETS)``: +Inf)."""
    return bisect.bisect_left(BUCKETS, seconds)


def bucket_of(seconds: float) -> str:
    return BUCKET_NAMES[bucket_index(seconds)]


def _bound(name: str) -> float:
    return math.inf if name == INF else float(name)


def quantile_us(buckets: Mapping[str, int], q: float = 0.95) -> int | None:
    """The ``q`` quantile of the durations counted per bucket (non-cumulative counts by bucket
    name), in microseconds; None when nothing was counted. As Prometheus' ``histogram_quantile``:
    linear within the bucket it falls in, and the largest finite bound when it falls past it."""
    counted = sorted(((_bound(name), n) for name, n in buckets.items() if n > 0), key=lambda pair: pair[0])
    total = sum(n for _, n in counted)
    if not total:
        return None
    rank, below = q * total, 0
    for bound, n in counted:
        if below + n >= rank or bound == counted[-1][0]:
            if math.isinf(bound):
                return round(BUCKETS[-1] * 1_000_000)
            edge = max((b for b in BUCKETS if b < bound), default=0.0)  # the bucket is (edge, bound]
            return round((edge + (bound - edge) * min(1.0, (rank - below) / n)) * 1_000_000)
        below += n
    raise AssertionError("unreachable")


def latency_dimension(group: str, bucket: str) -> str:
    return f"{group}|{bucket}"


def split_latency(dimension: str) -> tuple[str, str]:
    group, _, bucket = dimension.rpartition("|")
    return group, bucket


def error_rate(requests: int, errors: int) -> float | None:
    return errors / requests if requests else None


# --- the dashboard -------------------------------------------------------------------------

@dataclass(frozen=True)
class RouteFigures:
    group: str
    requests: int
    errors: int
    error_rate: float | None
    p95_ms: float | None


@dataclass(frozen=True)
class Dashboard:
    """``totals``: figure -> dimension -> the period's value (a sum, or a snapshot's latest);
    ``series``: figure -> dimension -> a value per slot."""

    window: Window
    totals: dict[str, dict[str, int]]
    series: dict[str, dict[str, tuple[int, ...]]]
    routes: tuple[RouteFigures, ...]
    rolled_at: datetime | None = None
    labels: tuple[str, ...] = ()  # a label per slot: 08时, 12-01
    names: dict[str, str] = field(default_factory=dict)  # departments' names by node code

    def total(self, figure: str) -> int:
        """The figure over every dimension (a snapshot has one)."""
        return sum(self.totals.get(figure, {}).values())


def dashboard(win: Window, rows: Iterable[Row], rolled_at: datetime | None = None) -> Dashboard:
    """The period's totals from its day rows, its series from the rows of its grain."""
    rows = list(rows)
    days = [r for r in rows if r.grain == DAY and r.period_start in set(win.days)]
    totals: dict[str, dict[str, int]] = {}
    latest: dict[tuple[str, str], datetime] = {}
    for r in days:
        if r.figure in (LATENCY, P95):
            continue
        by_dimension = totals.setdefault(r.figure, {})
        if r.figure in SNAPSHOTS:
            if (r.figure, r.dimension) not in latest or r.period_start > latest[(r.figure, r.dimension)]:
                latest[(r.figure, r.dimension)] = r.period_start
                by_dimension[r.dimension] = r.value
        else:
            by_dimension[r.dimension] = by_dimension.get(r.dimension, 0) + r.value
    index = {slot: n for n, slot in enumerate(win.slots)}
    series: dict[str, dict[str, list[int]]] = {}
    for r in rows:
        if r.grain != win.grain or r.period_start not in index or r.figure == LATENCY:
            continue
        points = series.setdefault(r.figure, {}).setdefault(r.dimension, [0] * len(win.slots))
        points[index[r.period_start]] = r.value
    _carry_snapshots(series)
    return Dashboard(win, totals, {f: {d: tuple(p) for d, p in by.items()} for f, by in series.items()},
                     routes_of(days, totals), rolled_at, tuple(slot_label(s, win.grain) for s in win.slots))


def with_names(board: Dashboard, names: Mapping[str, str]) -> Dashboard:
    return replace(board, names=dict(names))


def _carry_snapshots(series: dict[str, dict[str, list[int]]]) -> None:
    """A snapshot not rolled up for a slot (the job was down) keeps the value before it."""
    for figure in SNAPSHOTS & set(series):
        for points in series[figure].values():
            for n in range(1, len(points)):
                points[n] = points[n] or points[n - 1]


def routes_of(day_rows: Sequence[Row], totals: Mapping[str, Mapping[str, int]]) -> tuple[RouteFigures, ...]:
    """Requests, errors, error rate and p95 per route group over the days: p95 from the days'
    buckets summed (a p95 of p95s would mean nothing)."""
    buckets: dict[str, dict[str, int]] = {}
    for r in day_rows:
        if r.figure == LATENCY:
            group, bucket = split_latency(r.dimension)
            buckets.setdefault(group, {})
            buckets[group][bucket] = buckets[group].get(bucket, 0) + r.value
    requests, errors = totals.get(REQUESTS, {}), totals.get(ERRORS, {})
    out = []
    for group in sorted(set(requests) | set(buckets)):
        p95 = quantile_us(buckets.get(group, {}))
        n, failed = requests.get(group, 0), errors.get(group, 0)
        out.append(RouteFigures(group, n, failed, error_rate(n, failed), None if p95 is None else p95 / 1000))
    return tuple(out)
