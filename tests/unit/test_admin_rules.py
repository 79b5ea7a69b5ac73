"""Pure admin rules: account validity, lockout, session lifetime."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.admin import rules

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


def test_the_fifth_failure_in_a_row_locks_for_fifteen_minutes():
    failed = 0
    for _ in range(rules.MAX_FAILED_LOGINS - 1):
        outcome = rules.after_failed_login(failed_logins=failed, now=NOW)
        assert outcome.locked_until is None
        failed = outcome.failed_logins
    locked = rules.after_failed_login(failed_logins=failed, now=NOW)
    assert locked.locked_until == NOW + timedelta(minutes=15) and locked.failed_logins == 0
    assert rules.is_locked(locked.locked_until, NOW + timedelta(minutes=14, seconds=59))
    assert not rules.is_locked(locked.locked_until, NOW + timedelta(minutes=15))
    assert not rules.is_locked(None, NOW)


def test_a_session_ends_when_idle_and_when_too_old():
    created = NOW
    assert rules.session_alive(created_at=created, last_seen_at=NOW, now=NOW + timedelta(hours=1, minutes=59))
    assert not rules.session_alive(created_at=created, last_seen_at=NOW, now=NOW + timedelta(hours=2))
    busy = NOW + timedelta(hours=11, minutes=59)  # used a minute ago, but logged in 12 hours ago
    assert not rules.session_alive(created_at=created, last_seen_at=busy, now=NOW + timedelta(hours=12))
    assert rules.session_expires_at(created_at=created, last_seen_at=busy) == NOW + timedelta(hours=12)


def test_last_seen_is_written_at_most_once_a_minute():
    assert not rules.should_touch(NOW, NOW + timedelta(seconds=59))
    assert rules.should_touch(NOW, NOW + timedelta(seconds=60))


@pytest.mark.parametrize(("values", "field"), [
    ({"username": "Zhang"}, "username"),
    ({"username": "zw"}, "username"),
    ({"roles": []}, "roles"),
    ({"roles": ["topic_editor", "root"]}, "roles"),
    ({"status": "deleted"}, "status"),
    ({"password": "short"}, "password"),
    ({"username": "zhangwei", "password": "my-zhangwei-password"}, "password"),
    ({"display_name": "  "}, "display_name"),
])
def test_account_problems(values, field):
    assert field in [p["field"] for p in rules.account_problems(**values)]


def test_a_good_account_has_no_problems_and_roles_are_canonical():
    assert rules.account_problems(username="zhang.wei", display_name="张伟", roles=["operator", "topic_editor"],
                                  status="active", password="correct horse battery") == []
    assert rules.normalise_roles(["operator", "topic_editor", "operator"]) == ["topic_editor", "operator"]
    assert rules.has_any_role({"operator"}, ("topic_editor", "operator"))
    assert not rules.has_any_role({"catalog_admin"}, ("topic_editor", "operator"))
