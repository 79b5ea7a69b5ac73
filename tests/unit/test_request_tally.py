"""The request tally (bff/common/traffic.py): one entry per kind of request, handed over to the
figures and /metrics once — a second later, when its hour ends, when it grows large — with the
counts and seconds of every request it stands for. The figures' side is a recorder here; the
figures over HTTP, end to end, are tests/api/test_dashboard.py's."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from prometheus_client import CollectorRegistry, Histogram

from bff.common import metrics, traffic
from domain.figures import rules
from domain.shared.clock import FrozenClock

START = datetime(2026, 3, 2, 9, 59, 59, tzinfo=timezone.utc)


class App:
    """An app trusting no proxy: the caller's address is the peer's."""
    config = SimpleNamespace(PROXIES_COUNT=0, FORWARDED_SECRET=None, REAL_IP_HEADER=None)


APP = App()


class Figures:
    """What the tally hands the figures service, as it was handed."""

    def __init__(self, clock) -> None:
        self.clock, self.answered, self.visited = clock, [], []

    def periods(self, now):
        return rules.hour_of(now), rules.day_of(now)

    def requests_answered(self, **counted) -> None:
        self.answered.append(counted)

    def channel_visited(self, **counted) -> None:
        self.visited.append(counted)


def request(path: str | None, *, method: str = "GET", headers: dict | None = None, subject: str | None = None,
            ip: str = "198.51.100.4"):
    """A Sanic request as the tally reads it: its route, method, headers, verified caller, address."""
    return SimpleNamespace(route=SimpleNamespace(path=path) if path is not None else None, method=method,
                           headers=headers or {}, ip=ip, app=APP,
                           ctx=SimpleNamespace(auth=SimpleNamespace(subject=subject)) if subject else SimpleNamespace())


@pytest.fixture
def figures():
    return Figures(FrozenClock(START))


@pytest.fixture
def tally(figures):
    return traffic.RequestTally(figures)


def _series(method: str, route: str, status: str) -> tuple[float, float, float]:
    """(requests, duration samples, duration sum) of one /metrics series in this process."""
    value = metrics.REGISTRY.get_sample_value
    return (value("http_requests_total", {"method": method, "route": route, "status": status}) or 0.0,
            value("http_request_duration_seconds_count", {"method": method, "route": route}) or 0.0,
            value("http_request_duration_seconds_sum", {"method": method, "route": route}) or 0.0)


async def test_alike_requests_are_one_entry_handed_over_once_with_their_count_and_seconds(tally, figures):
    route = "/wx/v1/matters/{code}"
    before = _series("GET", route, "200")
    for seconds in (0.001, 0.002, 0.004):
        tally.count(request("wx/v1/matters/<code:matter_code>"), 200, seconds)
    assert figures.answered == []  # nothing handed over per request
    tally.hand_over()
    hour = START.replace(minute=0, second=0)
    assert figures.answered == [{"group": "wx", "bucket": "0.005", "failed": False, "times": 3, "at": hour}]
    assert figures.visited == [{"channel": "wechat", "visitor": "address:198.51.100.4|", "page_views": 3,
                                "at": hour}]
    after = _series("GET", route, "200")
    assert (after[0] - before[0], after[1] - before[1]) == (3, 3)
    assert after[2] - before[2] == pytest.approx(0.007)
    tally.hand_over()
    assert len(figures.answered) == 1  # handed over once


async def test_an_hours_requests_are_handed_over_at_that_hour_when_it_ends(tally, figures):
    tally.count(request("public/v1/regions"), 200, 0.001)
    figures.clock.advance(1)  # 10:00:00
    tally.count(request("public/v1/regions"), 200, 0.001)
    assert [c["at"].hour for c in figures.answered] == [9]
    tally.hand_over()
    assert [c["at"].hour for c in figures.answered] == [9, 10]


async def test_the_tally_is_handed_over_a_moment_later_or_at_once_when_it_grows(tally, figures, monkeypatch):
    monkeypatch.setattr(traffic, "HAND_OVER_SECONDS", 0.01)
    tally.count(request("public/v1/regions"), 200, 0.001)
    await asyncio.sleep(0.05)
    assert len(figures.answered) == 1
    monkeypatch.setattr(traffic, "MAX_ENTRIES", 3)
    for status in (200, 304, 404):
        tally.count(request("public/v1/regions"), status, 0.001)
    assert len(figures.answered) == 4


async def test_a_failure_of_ours_counts_no_visitor_and_a_callers_error_no_page(tally, figures):
    tally.count(request("alipay/v1/home"), 503, 0.2)
    tally.count(request("alipay/v1/home"), 404, 0.001)
    tally.count(request("alipay/v1/home", method="POST"), 200, 0.001)
    tally.count(request(None), 404, 0.001)
    tally.hand_over()
    assert [(c["group"], c["failed"]) for c in figures.answered] == [
        ("alipay", True), ("alipay", False), ("alipay", False), ("other", False)]
    assert [c["page_views"] for c in figures.visited] == [0, 0]  # 503: no visit at all


@pytest.mark.parametrize(("facts", "visitor"), [
    ({"subject": "p-verified"}, "person:p-verified"),
    ({"headers": {"Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwMSJ9.c2ln"}}, "person:p1"),
    ({"headers": {"Authorization": "Bearer not-a-token", "X-Device-Id": "d-1"}}, "device:d-1"),
    ({"headers": {"X-Device-Id": "d" * 129, "User-Agent": "ua/1"}}, "address:198.51.100.4|ua/1"),
])
async def test_the_visitor_is_the_citizen_then_the_device_then_the_address(tally, figures, facts, visitor):
    tally.count(request("app/v1/home", **facts), 200, 0.001)
    tally.hand_over()
    assert figures.visited[0]["visitor"] == visitor


async def test_counting_never_fails_a_request(tally, figures, caplog):
    tally.count(SimpleNamespace(), 200, 0.001)  # nothing a request has
    assert "request not counted" in caplog.text


def test_many_samples_land_in_the_series_as_observing_each_would():
    """record_many adds to prometheus_client's histogram directly (its observe() per sample was
    the cost); held here to what observe() gives, so a change inside the library shows."""
    samples = [0.003, 0.0049, 0.3, 0.31, 0.7, 12.0]
    observed = Histogram("observed_seconds", "", buckets=rules.BUCKETS, registry=CollectorRegistry())
    for seconds in samples:
        observed.observe(seconds)
    route = "/test/record-many"
    for bucket in {rules.bucket_index(s) for s in samples}:
        alike = [s for s in samples if rules.bucket_index(s) == bucket]
        metrics.record_many("GET", route, 200, bucket=bucket, times=len(alike), seconds=sum(alike))
    def series(histogram, name: str, **labels) -> dict[tuple[str, str | None], float]:
        return {(s.name.rsplit("_", 1)[1], s.labels.get("le")): s.value for m in histogram.collect()
                for s in m.samples if s.name.startswith(name) and labels.items() <= s.labels.items()}

    recorded = series(metrics.REGISTRY, "http_request_duration_seconds", route=route)
    expected = series(observed, "observed_seconds")
    assert recorded[("sum", None)] == pytest.approx(expected.pop(("sum", None)))
    assert {k: v for k, v in recorded.items() if k != ("sum", None)} == expected
    assert _series("GET", route, "200")[0] == len(samples)


def test_a_tally_counted_under_a_loop_that_ended_is_handed_over_under_the_next(figures, monkeypatch):
    """A process whose loop is replaced (tests, a restarted worker) must not wait for a timer of
    the old loop, which never fires."""
    monkeypatch.setattr(traffic, "HAND_OVER_SECONDS", 0.01)
    tally = traffic.RequestTally(figures)

    async def count_and_wait(seconds: float) -> None:
        tally.count(request("public/v1/regions"), 200, 0.001)
        await asyncio.sleep(seconds)

    asyncio.run(count_and_wait(0))  # its timer is scheduled, then the loop ends
    asyncio.run(count_and_wait(0.05))
    assert sum(c["times"] for c in figures.answered) == 2
