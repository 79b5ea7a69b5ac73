"""The platform's figures: counted cheaply at request time, rolled up per hour and per Beijing day
by a scheduled job, read by the dashboard and the public figures from the rollups alone.

- **At request time** (``requests_answered``, ``channel_visited``): nothing is awaited. The route
  group's request, its duration bucket and whether it failed; a channel's visitor (an opaque keyed
  hash: the vault's lookup key, context ``figures.visitor``) and its page views go to the
  ``TrafficCounter`` port (Redis: adapters/cache/traffic.py).
- **The job** (``roll_up``, every few minutes, once across hosts) folds the previous and the
  current hour and their days: the capabilities' counts through their services (identity's people,
  applications, licenses, the exchange's message log) and the counters. A period's roll-up replaces
  all its rows in one transaction, so re-running it gives the same rows.
- **Reading** (``dashboard``, ``headline``): rows of the window's days (and today's hours), kept
  30 s in the process; nothing is counted from the capabilities' tables on a page view.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.figures import rules
from domain.figures.models import FigureRollup
from domain.figures.ports import TrafficCounter
from domain.figures.rules import DAY, HOUR, Dashboard, Row
from domain.shared.clock import Clock
from domain.shared.memo import Memo
from domain.shared.rows import insert_rows
from domain.shared.vault import Vault

log = logging.getLogger("govhub.figures")

VISITOR_CONTEXT = "figures.visitor"
VISITOR_KEYS_KEPT = 4096
NO_HOUR = (datetime.min.replace(tzinfo=timezone.utc),) * 2 + (date.min,)  # an empty window: nothing falls in it
READ_SECONDS = 30  # what the dashboard and the public figures show may be this much older than the rollups


@dataclass(frozen=True)
class Headline:
    """The public figures: people as of the latest rollup, and the headline counts per period."""

    rolled_at: datetime | None
    users_registered: int
    users_real_name: int
    periods: dict[str, dict[str, int]]  # period -> figure -> value (every dimension summed)


class FiguresService:
    def __init__(self, *, clock: Clock, vault: Vault, traffic: TrafficCounter, identity, applications, licenses,
                 sharing, nodes) -> None:
        """``identity``, ``applications``, ``licenses``, ``sharing``: those modules' services (each
        counts its own rows); ``nodes``: the node registry (departments' names)."""
        self.clock, self.vault, self.traffic = clock, vault, traffic
        self.identity, self.applications, self.licenses, self.sharing = identity, applications, licenses, sharing
        self.nodes = nodes
        self._memo: Memo[tuple, object] = Memo(seconds=READ_SECONDS, max_entries=64)
        self._visitor_keys: dict[str, str] = {}
        self._hour: tuple[datetime, datetime, date] = NO_HOUR  # (start, end, Beijing day) of the last hour counted
        self._sources: list[Callable[[], None]] = []

    # --- at request time: never awaits ------------------------------------------------------

    def requests_answered(self, *, group: str, bucket: str, failed: bool, times: int = 1,
                          at: datetime | None = None) -> None:
        """``times`` requests of a route group answered within ``bucket`` (rules.bucket_of), failed
        (5xx) or not; ``at``: when (the clock's now unless given)."""
        hour, _ = self.periods(at or self.clock.now())
        self.traffic.count_request(hour=hour, group=group, bucket=bucket, error=failed, times=times)

    def channel_visited(self, *, channel: str, visitor: str, page_views: int = 0, at: datetime | None = None) -> None:
        """Requests on a citizen channel by ``visitor`` (a citizen's subject, a device, an address):
        a visitor of the day, who asked for ``page_views`` pages (home, search, a matter)."""
        hour, day = self.periods(at or self.clock.now())
        self.traffic.count_visitor(day=day, channel=channel, visitor=self._visitor_key(visitor))
        if page_views:
            self.traffic.count_page_view(hour=hour, channel=channel, times=page_views)

    def hand_over_from(self, source: Callable[[], None]) -> None:
        """``source`` keeps counts in its process for a moment (the BFF's request tally, which
        counts a request with one dictionary entry) and hands them over when called: before every
        flush and every forget, so what was counted before either is sent, or dropped, with the rest."""
        self._sources.append(source)

    def periods(self, now: datetime) -> tuple[datetime, date]:
        """The UTC hour and the Beijing day of ``now``, worked out once an hour rather than on every
        ask (the request tally asks per request): Beijing is a whole number of hours ahead, so a UTC
        hour lies within one Beijing day."""
        start, end, day = self._hour
        if not start <= now < end:
            start = rules.hour_of(now)
            end, day = start + timedelta(hours=1), rules.day_of(now)
            self._hour = (start, end, day)
        return start, day

    def _visitor_key(self, visitor: str) -> str:
        """The visitor keyed by the vault (an HMAC per request was a third of counting): the same
        visitor comes back request after request, so the last few thousand keys are kept."""
        key = self._visitor_keys.get(visitor)
        if key is None:
            if len(self._visitor_keys) >= VISITOR_KEYS_KEPT:
                self._visitor_keys.clear()
            key = self._visitor_keys[visitor] = self.vault.lookup_hash(visitor, context=VISITOR_CONTEXT)[:32]
        return key

    async def flush(self) -> None:
        self._hand_over()
        await self.traffic.flush()

    def forget(self) -> None:
        """Drop unsent counts and what was read (tests empty the stores under a running hub)."""
        self._hand_over()
        self.traffic.forget()
        self._memo.clear()

    def _hand_over(self) -> None:
        for source in self._sources:
            source()

    # --- the job ------------------------------------------------------------------------------

    async def roll_up(self) -> dict:
        """One tick: the previous and the current hour, and their days — the days first, so that
        after midnight the day just ended is final before today's hours take their people from it."""
        due = rules.due(self.clock.now())
        rows = sum([await self.roll_up_day(day) for day in due.days])
        rows += sum([await self.roll_up_hour(hour) for hour in due.hours])
        self._memo.clear()
        return {"hours": len(due.hours), "days": len(due.days), "rows": rows}

    async def roll_up_days(self, days: Iterable[date]) -> int:
        """Every hour of each day and the day (catching up after the job was stopped; the request
        counters are kept in Redis for a week)."""
        rows = 0
        for day in days:
            for hour in rules.hours_of_day(day):
                if hour <= self.clock.now():
                    rows += await self.roll_up_hour(hour)
            rows += await self.roll_up_day(day)
        self._memo.clear()
        return rows

    async def roll_up_hour(self, hour: datetime) -> int:
        start = rules.hour_of(hour)
        rows = await self._counted(HOUR, start, start + timedelta(hours=1), [start])
        return await self._replace(HOUR, start, rows)

    async def roll_up_day(self, day: date) -> int:
        start, end = rules.day_bounds(day)
        rows = await self._counted(DAY, start, end, rules.hours_of_day(day))
        rows += rules.count_rows(rules.VISITS, DAY, start, await self.traffic.visitors(day))
        return await self._replace(DAY, start, rows)

    async def _counted(self, grain: str, start: datetime, end: datetime, hours: Sequence[datetime]) -> list[Row]:
        """Every figure of [start, end) but the day's visitors."""
        registered, real_name = await self._people_at(min(end, self.clock.now()))
        applications = await self.applications.counts(since=start, until=end)
        issued, shown = await self.licenses.counts(since=start, until=end)
        calls = await self.sharing.calls_by_consumer(since=start, until=end)
        requests = await self.traffic.requests(hours)
        rows = [Row(rules.USERS_REGISTERED, "", grain, start, registered),
                Row(rules.USERS_REAL_NAME, "", grain, start, real_name)]
        for figure, counts in (
                (rules.PAGE_VIEWS, await self.traffic.page_views(hours)),
                (rules.SUBMITTED, applications.submitted), (rules.COMPLETED, {"": applications.completed}),
                (rules.INSTANT_APPROVALS, {"": applications.instant_approvals}),
                (rules.LICENSES_ISSUED, {"": issued}), (rules.LICENSES_SHOWN, {"": shown}),
                (rules.EXCHANGE_CALLS, calls.get("exchange", {})),
                (rules.IDENTITY_CHECKS, calls.get("identity_verification", {})),
                (rules.REQUESTS, {g: c.get("requests", 0) for g, c in requests.items()}),
                (rules.ERRORS, {g: c.get("errors", 0) for g, c in requests.items()})):
            rows += rules.count_rows(figure, grain, start, counts)
        for group, counted in requests.items():
            buckets = {b: counted.get(b, 0) for b in rules.BUCKET_NAMES}
            p95 = rules.quantile_us(buckets)
            if p95 is not None:
                rows.append(Row(rules.P95, group, grain, start, p95))
            if grain == DAY:  # the days' buckets give any period's p95
                rows += rules.count_rows(rules.LATENCY, grain, start,
                                         {rules.latency_dimension(group, b): n for b, n in buckets.items()})
        return rows

    async def _people_at(self, until: datetime) -> tuple[int, int]:
        """People registered and real-name verified as of ``until``: the level kept for the start of
        its Beijing day plus the day's changes (a few index range counts), not everybody counted
        again each tick; counted in full only when that level is not kept (the first roll-up, a day
        the job missed or rolled up before it ended)."""
        day_start, previous_day = rules.level_base(until)
        kept = dict(await FigureRollup.filter(
            grain=DAY, period_start=previous_day, dimension="", figure__in=list(rules.SNAPSHOTS),
            rolled_at__gte=day_start).values_list("figure", "value"))
        if len(kept) < len(rules.SNAPSHOTS):
            people = await self.identity.people_counts(until=until)
            return people.registered, people.real_name
        change = await self.identity.people_counts(until=until, since=day_start)
        return kept[rules.USERS_REGISTERED] + change.registered, kept[rules.USERS_REAL_NAME] + change.real_name

    async def _replace(self, grain: str, start: datetime, rows: list[Row]) -> int:
        """The period's rows, all replaced at once. Two runs at once (a lock outlived) may collide on
        the unique key: the later one tries again and its rows stand."""
        now = self.clock.now()
        values = [{"figure": r.figure, "dimension": r.dimension, "grain": r.grain, "period_start": r.period_start,
                   "value": r.value, "rolled_at": now} for r in rows]
        for attempt in range(3):
            try:
                async with in_transaction() as conn:
                    await FigureRollup.filter(grain=grain, period_start=start).using_db(conn).delete()
                    await insert_rows(FigureRollup, values, connection=conn)
                return len(values)
            except IntegrityError:
                if attempt == 2:
                    raise
                log.info("figures of the %s from %s rolled up twice at once: again", grain, start.isoformat())
        return 0

    # --- reading --------------------------------------------------------------------------------

    async def dashboard(self, *, period: str) -> Dashboard:
        """The period's totals, series and route groups (rules.Dashboard), and the departments' names."""
        win = rules.window(period, self.clock.now())
        return await self._memo.get(("dashboard", period, win.slots[-1]), lambda: self._dashboard(win))

    async def _dashboard(self, win: rules.Window) -> Dashboard:
        found = Q(grain=DAY, period_start__in=list(win.days))
        if win.grain == HOUR:
            found |= Q(grain=HOUR, period_start__gte=win.start, period_start__lte=win.slots[-1])
        rows, rolled_at = await _rows(FigureRollup.filter(found))
        board = rules.dashboard(win, rows, rolled_at)
        consumers = {*board.totals.get(rules.EXCHANGE_CALLS, {}), *board.totals.get(rules.IDENTITY_CHECKS, {})}
        if consumers:
            names = {node.code: node.name for node in await self.nodes.list() if node.code in consumers}
            board = rules.with_names(board, names)
        return board

    async def headline(self) -> Headline:
        now = self.clock.now()
        return await self._memo.get(("headline", rules.day_of(now)), lambda: self._headline(now))

    async def _headline(self, now: datetime) -> Headline:
        longest = rules.window("30d", now)
        figures = [*rules.HEADLINE, *rules.SNAPSHOTS]
        rows, rolled_at = await _rows(FigureRollup.filter(grain=DAY, period_start__in=list(longest.days),
                                                          figure__in=figures))
        boards = {period: rules.dashboard(rules.window(period, now), rows) for period in rules.PERIODS}
        periods = {period: {figure: board.total(figure) for figure in rules.HEADLINE}
                   for period, board in boards.items()}
        latest = boards["30d"]  # people: the latest day rolled up
        return Headline(rolled_at, latest.total(rules.USERS_REGISTERED), latest.total(rules.USERS_REAL_NAME),
                        periods)


async def _rows(query) -> tuple[list[Row], datetime | None]:
    found = await query.values_list("figure", "dimension", "grain", "period_start", "value", "rolled_at")
    rows = [Row(figure, dimension, grain, start, value) for figure, dimension, grain, start, value, _ in found]
    return rows, max((r[5] for r in found), default=None)
