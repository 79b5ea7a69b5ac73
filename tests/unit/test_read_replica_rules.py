"""The read replica's pure rules: its lag horizon, backoff, which routes may read from it and the
unverified subject that chooses where a request reads. The replica itself: tests/cluster/."""
from __future__ import annotations

import base64
import json

import pytest

from bff.common.read_routing import public_read, unverified_subject
from bff.replica_health import MAX_BACKOFF, ReplicaHealth, lsn, stickiness


def test_lsn_orders_positions_across_the_high_word():
    assert lsn("0/3000148") == 0x3000148
    assert lsn("1/0") > lsn("0/FFFFFFFF")


def test_nothing_goes_to_a_replica_before_its_first_good_probe():
    health = ReplicaHealth(max_lag=2.0)
    assert not health.usable(0.0)
    health.probed(started=10.0, primary_lsn=100, replica_lsn=100)
    assert health.usable(10.1) and health.lag(10.1) == pytest.approx(0.1)


def test_the_horizon_is_the_last_probe_the_replica_has_reached():
    health = ReplicaHealth(max_lag=2.0)
    health.probed(started=10.0, primary_lsn=100, replica_lsn=100)
    health.probed(started=10.5, primary_lsn=200, replica_lsn=150)  # behind what the primary had at 10.5
    assert health.horizon == 10.0
    health.probed(started=11.0, primary_lsn=300, replica_lsn=250)  # reached 10.5's position, not 11.0's
    assert health.horizon == 10.5
    assert health.usable(12.5) and not health.usable(12.6)  # more than max_lag past its horizon


def test_a_paused_replica_ages_out_while_the_primary_moves():
    health = ReplicaHealth(max_lag=2.0)
    health.probed(started=0.0, primary_lsn=100, replica_lsn=100)
    for step in range(1, 10):
        health.probed(started=step * 0.5, primary_lsn=100 + step, replica_lsn=100)
    assert health.horizon == 0.0 and not health.usable(4.5)


def test_an_idle_primary_keeps_a_caught_up_replica_fresh():
    health = ReplicaHealth(max_lag=2.0)
    for step in range(20):
        health.probed(started=step * 0.5, primary_lsn=100, replica_lsn=100)
    assert health.usable(9.6) and health.lag(9.6) == pytest.approx(0.1)


def test_a_failure_sends_reads_to_the_primary_at_once_and_backs_off():
    health = ReplicaHealth(max_lag=2.0)
    health.probed(started=0.0, primary_lsn=1, replica_lsn=1)
    assert health.lost(0.1) is True and not health.usable(0.1)
    assert health.lost(0.1) is False  # the other reads in flight do not lengthen the wait
    waits = []
    for _ in range(8):
        now = health.next_look
        health.failed(now)
        waits.append(health.next_look - now)
    assert waits[:3] == [0.5, 1.0, 2.0] and max(waits) == pytest.approx(MAX_BACKOFF)
    health.probed(started=100.0, primary_lsn=5, replica_lsn=5)  # back: the backoff starts over
    assert health.usable(100.0) and health.failures == 0


def test_a_person_stays_on_the_primary_longer_than_the_replica_may_lag():
    assert stickiness(2.0) > 2.0


@pytest.mark.parametrize(("route", "allowed"), [
    ("govhub.wechat.search", True), ("govhub.alipay.home", True), ("govhub.app.matter", True),
    ("govhub.wechat.bundle_list", True), ("govhub.public_topics.published", True), ("govhub.regions.children", True),
    ("govhub.public_figures.figures", True),
    # a citizen's own data, the admin API and console, nodes, and what must be as fresh as the primary
    ("govhub.wechat.my_applications", False), ("govhub.wechat.get_preferences", False),
    ("govhub.admin_topics.list_topics", False), ("govhub.console.catalog", False), ("govhub.gov.hub_key", False),
    ("govhub.public_verify.status_list", False), ("govhub.public_verify.trust_list", False),
    ("govhub.public_health_codes.health_revocations", False), ("healthz", False),
])
def test_only_public_reading_routes_may_read_from_the_replica(route, allowed):
    assert public_read(route) is allowed


def _token(payload) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).rstrip(b"=").decode()
    return f"Bearer eyJhbGciOiJFUzI1NiJ9.{body}.c2ln"


def test_the_subject_that_chooses_where_a_request_reads():
    assert unverified_subject(_token({"sub": "p-123"})) == "p-123"
    for header in ("", "Bearer", "Basic abc", "Bearer a.b", "Bearer a.!!!.c", _token(["sub"]), _token({"sub": 5}),
                   _token({"sub": "x" * 65})):
        assert unverified_subject(header) is None
