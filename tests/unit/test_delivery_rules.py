"""The outbox's pure rules: which answers retry, the backoff with jitter, when to park."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.delivery import rules

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize("status, outcome", [
    (200, "delivered"), (202, "delivered"), (204, "delivered"),
    (429, "retry"), (500, "retry"), (502, "retry"), (503, "retry"), (504, "retry"),
    (400, "rejected"), (401, "rejected"), (404, "rejected"), (409, "rejected"), (422, "rejected"),
    (301, "rejected"),
])
def test_only_5xx_and_429_retry(status, outcome):
    assert rules.outcome_of_status(status) == outcome


def test_backoff_doubles_from_ten_seconds_up_to_an_hour():
    longest = [rules.backoff_seconds(n, 1.0) for n in range(1, 12)]
    assert longest == [10, 20, 40, 80, 160, 320, 640, 1280, 2560, 3600, 3600]
    assert [rules.backoff_seconds(n, 0.0) for n in (1, 2, 11)] == [5, 10, 1800]


@given(st.integers(min_value=1, max_value=40), st.floats(min_value=0, max_value=1))
def test_jitter_stays_between_half_and_the_whole_step(attempt, jitter):
    step = min(rules.CAP_SECONDS, rules.BASE_SECONDS * 2 ** (attempt - 1))
    assert step / 2 <= rules.backoff_seconds(attempt, jitter) <= step


def test_retry_until_the_limit_then_park():
    for attempts in range(1, rules.MAX_ATTEMPTS):
        decision = rules.decide(outcome="retry", attempts=attempts, now=NOW, jitter=0.5, error="http 503")
        assert decision.status == "pending" and decision.next_attempt_at > NOW
    last = rules.decide(outcome="retry", attempts=rules.MAX_ATTEMPTS, now=NOW, jitter=0.5, error="http 503")
    assert (last.status, last.next_attempt_at) == ("parked", None)
    assert last.parked_reason == f"gave up after {rules.MAX_ATTEMPTS} attempts: http 503"


def test_the_whole_schedule_rides_out_hours_not_days():
    total_short = sum(low for _, low, _ in rules.schedule_table())
    total_long = sum(high for _, _, high in rules.schedule_table())
    assert 1.5 * 3600 < total_short < total_long < 3.5 * 3600


def test_rejected_and_no_sender_park_at_once_delivered_is_done():
    assert rules.decide(outcome="rejected", attempts=1, now=NOW, jitter=0, error="http 422").status == "parked"
    no_sender = rules.decide(outcome="no_sender", attempts=1, now=NOW, jitter=0, error="notify.push")
    assert (no_sender.status, no_sender.parked_reason) == ("parked", "no sender installed for this kind: notify.push")
    assert rules.decide(outcome="delivered", attempts=3, now=NOW, jitter=0) == rules.Decision("delivered", None)


def test_retry_after_is_honoured_when_longer_and_capped():
    longer = rules.decide(outcome="retry", attempts=1, now=NOW, jitter=1.0, retry_after=120)
    assert longer.next_attempt_at == NOW + timedelta(seconds=120)
    shorter = rules.decide(outcome="retry", attempts=1, now=NOW, jitter=1.0, retry_after=2)
    assert shorter.next_attempt_at == NOW + timedelta(seconds=10)
    huge = rules.decide(outcome="retry", attempts=1, now=NOW, jitter=1.0, retry_after=86400)
    assert huge.next_attempt_at == NOW + timedelta(seconds=rules.CAP_SECONDS)


@pytest.mark.parametrize("value, seconds", [
    ("120", 120.0), (" 7 ", 7.0), ("Fri, 27 Nov 2026 02:01:00 GMT", 60.0), ("Fri, 27 Nov 2026 01:00:00 GMT", 0.0),
    ("soon", None), ("", None), (None, None), ("-5", None),
])
def test_retry_after_in_seconds_or_as_a_date(value, seconds):
    assert rules.parse_retry_after(value, NOW) == seconds


@pytest.mark.parametrize("field, value", [
    ("kind", "node"), ("kind", "Node.Submitted"), ("kind", 5), ("target", ""), ("target", "x" * 65),
    ("payload", None), ("payload", "{}"), ("dedupe_key", ""), ("dedupe_key", "k" * 201),
])
def test_enqueue_arguments_are_checked(field, value):
    arguments = {"kind": "node.application.submitted", "target": "zj-platform", "payload": {}, "dedupe_key": "k"}
    assert rules.enqueue_problems(**arguments) == []
    problems = rules.enqueue_problems(**{**arguments, field: value})
    assert [p["field"] for p in problems] == [field]
