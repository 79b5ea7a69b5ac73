"""The figures on the database and Redis: an hour and its Beijing day rolled up from the
capabilities' rows (through their services) and the request-time counters; re-running a period
replaces it; Beijing midnight splits the days; visitors are distinct per day and channel; reading
the dashboard touches the rollups only. Every moment comes from the test's clock."""
from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from domain.applications.models import Application
from domain.identity.models import Person
from domain.figures import rules
from domain.figures.models import FigureRollup
from domain.figures.rules import DAY, HOUR
from tests.support import figures as seed


async def stored() -> dict[tuple, int]:
    rows = await FigureRollup.all().values_list("figure", "dimension", "grain", "period_start", "value")
    return {(f, d, g, p): v for f, d, g, p, v in rows}


def of(rows: dict[tuple, int], grain: str, start, *, people: bool = True) -> dict[tuple[str, str], int]:
    return {(f, d): v for (f, d, g, p), v in rows.items()
            if g == grain and p == start and (people or f not in rules.SNAPSHOTS)}


@pytest.fixture
def moments(clock):
    now = clock.now()
    hour = rules.hour_of(now)
    return {"now": now, "hour": hour, "at": hour + (now - hour) / 2, "before": hour - timedelta(minutes=30),
            "day": rules.day_of(now), "long_ago": now - timedelta(days=10)}


async def _seed_world(m) -> None:
    at, before, long_ago = m["at"], m["before"], m["long_ago"]
    first = await seed.person(long_ago, real_name_at=long_ago)
    await seed.person(at)
    await seed.person(at, merged_into=first)  # a duplicate merged away: not a second person
    await seed.person(at, real_name_at=at)
    for channel in ("wechat", "wechat", "app"):
        await seed.application(at, channel=channel)
    await seed.application(at, channel="wechat", completed_at=at, instant=True)
    await seed.application(before, channel="alipay")
    await seed.license_issued(at, shown=[at, at])
    await seed.license_issued(long_ago, shown=[at])
    for consumer in ("bj-psb", "bj-psb", "zj-platform"):
        await seed.exchange_call(at, consumer=consumer)
    await seed.exchange_call(at, consumer="bj-psb", kind="identity_verification")


def _count_traffic(figures) -> None:
    figures.requests_answered(group="wx", bucket=rules.bucket_of(0.003), failed=False, times=19)
    figures.requests_answered(group="wx", bucket=rules.bucket_of(0.2), failed=True)
    figures.requests_answered(group="admin", bucket=rules.bucket_of(0.05), failed=False, times=2)
    figures.channel_visited(channel="wechat", visitor="person:a", page_views=2)
    figures.channel_visited(channel="wechat", visitor="person:a", page_views=1)
    figures.channel_visited(channel="wechat", visitor="person:b", page_views=0)
    figures.channel_visited(channel="app", visitor="device:x", page_views=1)


async def test_an_hour_and_its_day_are_rolled_up_from_the_capabilities_and_the_counters(resources, clock, moments):
    figures = seed.figures_service(resources, clock)
    await _seed_world(moments)
    _count_traffic(figures)
    await figures.flush()
    done = await figures.roll_up()
    assert done["hours"] == 2 and done["rows"] > 0
    rows = await stored()
    hour = of(rows, HOUR, moments["hour"])
    assert hour == {
        (rules.USERS_REGISTERED, ""): 3, (rules.USERS_REAL_NAME, ""): 2,
        (rules.PAGE_VIEWS, "wechat"): 3, (rules.PAGE_VIEWS, "app"): 1,
        (rules.SUBMITTED, "wechat"): 3, (rules.SUBMITTED, "app"): 1,
        (rules.COMPLETED, ""): 1, (rules.INSTANT_APPROVALS, ""): 1,
        (rules.LICENSES_ISSUED, ""): 1, (rules.LICENSES_SHOWN, ""): 3,
        (rules.EXCHANGE_CALLS, "bj-psb"): 2, (rules.EXCHANGE_CALLS, "zj-platform"): 1,
        (rules.IDENTITY_CHECKS, "bj-psb"): 1,
        (rules.REQUESTS, "wx"): 20, (rules.REQUESTS, "admin"): 2, (rules.ERRORS, "wx"): 1,
        (rules.P95, "wx"): 5000,  # 19 of 20 under 5 ms: rank 19 is the last of them
        (rules.P95, "admin"): 48_750,
    }
    previous = of(rows, HOUR, moments["hour"] - timedelta(hours=1))
    assert previous[(rules.SUBMITTED, "alipay")] == 1 and previous[(rules.USERS_REGISTERED, "")] == 1
    day = of(rows, DAY, rules.day_bounds(moments["day"])[0])
    same_day = rules.day_of(moments["before"]) == moments["day"]
    assert day[(rules.SUBMITTED, "wechat")] == 3 and ((rules.SUBMITTED, "alipay") in day) == same_day
    assert day[(rules.VISITS, "wechat")] == 2 and day[(rules.VISITS, "app")] == 1
    assert day[(rules.LATENCY, "wx|0.005")] == 19 and day[(rules.LATENCY, "wx|0.25")] == 1
    assert day[(rules.LATENCY, "admin|0.05")] == 2 and day[(rules.USERS_REGISTERED, "")] == 3

    board = await figures.dashboard(period="today")
    assert board.totals[rules.PAGE_VIEWS] == {"wechat": 3, "app": 1} and board.total(rules.VISITS) == 3
    assert board.series[rules.PAGE_VIEWS]["wechat"][-1] == 3 and board.labels[-1].endswith("时")
    wx = next(r for r in board.routes if r.group == "wx")
    assert (wx.requests, wx.errors, wx.p95_ms) == (20, 1, 5.0)
    assert board.rolled_at == moments["now"]
    headline = await figures.headline()
    assert (headline.users_registered, headline.users_real_name) == (3, 2)
    assert headline.periods["today"][rules.PAGE_VIEWS] == 4 and headline.periods["30d"][rules.INSTANT_APPROVALS] == 1
    assert headline.periods["7d"][rules.EXCHANGE_CALLS] == 3 and headline.periods["today"][rules.IDENTITY_CHECKS] == 1


async def test_re_running_a_period_replaces_it(resources, clock, moments):
    figures = seed.figures_service(resources, clock)
    await _seed_world(moments)
    _count_traffic(figures)
    await figures.flush()
    await figures.roll_up()
    first = await stored()
    await figures.roll_up()
    assert await stored() == first  # the same rows, not doubled
    await asyncio.gather(*(figures.roll_up_hour(moments["hour"]) for _ in range(3)))  # at once: still one set
    assert await stored() == first
    await seed.application(moments["at"], channel="app")
    figures.requests_answered(group="wx", bucket=rules.bucket_of(0.003), failed=False)
    await figures.flush()
    await figures.roll_up()
    again = of(await stored(), HOUR, moments["hour"])
    assert again[(rules.SUBMITTED, "app")] == 2 and again[(rules.REQUESTS, "wx")] == 21
    await Application.filter(channel="app").delete()
    await figures.roll_up_hour(moments["hour"])
    assert (rules.SUBMITTED, "app") not in of(await stored(), HOUR, moments["hour"])  # gone, not left behind


async def test_beijing_midnight_splits_the_days(resources, clock):
    figures = seed.figures_service(resources, clock)
    yesterday = rules.day_of(clock.now()) - timedelta(days=1)
    start, end = rules.day_bounds(yesterday)
    await seed.application(start - timedelta(seconds=1))  # 23:59:59 the day before
    await seed.application(start)  # 00:00:00
    await seed.application(end - timedelta(seconds=1), channel="app")  # 23:59:59
    await seed.application(end)  # 00:00:00 the next day
    await figures.roll_up_days([yesterday])
    rows = await stored()
    assert of(rows, DAY, start)[(rules.SUBMITTED, "wechat")] == 1
    assert of(rows, DAY, start)[(rules.SUBMITTED, "app")] == 1
    assert of(rows, HOUR, start, people=False) == {(rules.SUBMITTED, "wechat"): 1}
    assert of(rows, HOUR, end - timedelta(hours=1), people=False) == {(rules.SUBMITTED, "app"): 1}
    counted = {p for (f, _, g, p) in rows if g == HOUR and f not in rules.SNAPSHOTS}
    assert len(counted) == 2  # an hour with nothing counted has only its people's snapshot
    assert of(rows, HOUR, start + timedelta(hours=5)) == {(rules.USERS_REGISTERED, ""): 0,
                                                         (rules.USERS_REAL_NAME, ""): 0}
    week = await figures.dashboard(period="7d")
    assert week.series[rules.SUBMITTED]["wechat"][-2] == 1 and week.total(rules.SUBMITTED) == 2


class CountedPeople:
    """Identity's people counts, with the calls the figures made to them."""

    def __init__(self, identity) -> None:
        self.identity, self.calls = identity, []

    async def people_counts(self, *, until, since=None):
        self.calls.append(since)
        return await self.identity.people_counts(until=until, since=since)


async def test_people_are_the_day_befores_kept_level_plus_the_days_changes(resources, clock, moments):
    """Counting everybody again every tick would read the whole people table: the levels are kept
    per day and moved on by the day's registrations, verifications and merges — and come out as a
    full count would."""
    figures = seed.figures_service(resources, clock)
    figures.identity = counted = CountedPeople(resources.identity)
    today_start, yesterday_start = rules.level_base(moments["now"])
    long_ago, yesterday, at = moments["long_ago"], yesterday_start + timedelta(hours=3), moments["at"]
    first = await seed.person(long_ago, real_name_at=long_ago)
    later = await seed.person(long_ago)
    duplicate = await seed.person(long_ago, real_name_at=long_ago)
    await seed.person(yesterday, real_name_at=yesterday)
    await figures.roll_up_day(rules.day_of(yesterday))  # rolled after that day ended: its level is kept
    assert counted.calls == [None]  # nothing kept before it: counted in full
    await seed.person(at)  # today: one registered,
    await seed.person(at, merged_into=first)  # one registered and merged the same day,
    await Person.filter(id=duplicate.id).update(merged_into_id=first.id, merged_at=at)  # one merged today,
    await Person.filter(id=later.id).update(real_name_verified_at=at, assurance=2)  # one verified today
    counted.calls.clear()
    await figures.roll_up_hour(moments["hour"])
    assert counted.calls == [today_start]  # the day's changes only
    full = await resources.identity.people_counts(until=moments["now"])
    hour = of(await stored(), HOUR, moments["hour"])
    assert (hour[(rules.USERS_REGISTERED, "")], hour[(rules.USERS_REAL_NAME, "")]) == \
        (full.registered, full.real_name) == (4, 3)

    await FigureRollup.filter(period_start=yesterday_start).update(rolled_at=today_start - timedelta(minutes=1))
    counted.calls.clear()
    await figures.roll_up_hour(moments["hour"])  # the day before rolled up before it ended: not a level to keep
    assert counted.calls == [None]
    assert of(await stored(), HOUR, moments["hour"]) == hour


async def test_visitors_are_distinct_per_beijing_day_and_channel(resources, clock):
    figures = seed.figures_service(resources, clock)
    first = rules.day_of(clock.now())
    for visitor in ("person:a", "person:a", "person:b", "device:x"):
        figures.channel_visited(channel="wechat", visitor=visitor, page_views=0)
    figures.channel_visited(channel="alipay", visitor="person:a", page_views=0)
    clock.advance(24 * 3600)
    figures.channel_visited(channel="wechat", visitor="person:a", page_views=0)
    await figures.flush()
    await figures.roll_up_day(first)
    await figures.roll_up_day(first + timedelta(days=1))
    rows = await stored()
    assert of(rows, DAY, rules.day_bounds(first)[0], people=False) == {(rules.VISITS, "wechat"): 3,
                                                                       (rules.VISITS, "alipay"): 1}
    assert of(rows, DAY, rules.day_bounds(first + timedelta(days=1))[0], people=False) == {(rules.VISITS, "wechat"): 1}
    assert (await figures.dashboard(period="7d")).total(rules.VISITS) == 5  # a visit a day, summed
    assert "person:a" not in str(await resources.redis.aio.keys("govhub:traffic:*"))


async def test_counts_are_sent_by_themselves_within_a_moment_and_forgotten_unsent(resources, clock, moments):
    figures = seed.figures_service(resources, clock)
    figures.requests_answered(group="gov", bucket=rules.bucket_of(0.01), failed=False)
    for _ in range(100):  # the counter sends its tally every 50 ms here (a second in the hub)
        if await figures.traffic.requests([moments["hour"]]):
            break
        await asyncio.sleep(0.01)
    assert await figures.traffic.requests([moments["hour"]]) == {"gov": {"requests": 1, "0.01": 1}}
    figures.requests_answered(group="gov", bucket=rules.bucket_of(0.01), failed=False)
    figures.forget()
    await asyncio.sleep(0.1)
    assert (await figures.traffic.requests([moments["hour"]]))["gov"]["requests"] == 1


async def test_the_dashboard_reads_the_rollups_only(resources, clock, moments):
    figures = seed.figures_service(resources, clock)
    await _seed_world(moments)
    await figures.roll_up()
    await Application.all().delete()  # the raw rows are gone: the figures stand until the next roll-up
    figures.forget()
    for period in rules.PERIODS:
        board = await figures.dashboard(period=period)
        assert board.total(rules.SUBMITTED) >= 4 and board.window.period == period


async def test_the_scheduler_keeps_the_rollups_every_five_minutes(resources, settings):
    """The job the scheduler runs (bff/app.py's list, resolved as the scheduler resolves it) rolls the
    figures up from the capabilities: without it the dashboard would stand still."""
    from adapters.scheduler.runner import resolve
    from bff.app import jobs

    [job] = [job for job in jobs(settings) if job.ref.endswith(":roll_up_figures")]
    assert job.seconds == 300
    now = resources.clock.now()
    await seed.application(now)
    done = await resolve(job.ref)(resources)
    assert done["rows"] > 0, done
    day_start = rules.day_bounds(rules.day_of(now))[0]
    day = {figure: value for (figure, _, grain, start), value in (await stored()).items()
           if grain == DAY and start == day_start}
    assert day[rules.SUBMITTED] == 1
