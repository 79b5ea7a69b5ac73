"""Admin accounts and console sessions on the database: life cycle, lockout, argon2, audit."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from argon2 import PasswordHasher

from domain.admin import errors
from domain.admin.models import AdminAccount, AdminLoginFailure, AdminSession
from domain.admin.passwords import Passwords
from domain.admin.service import AdminAccounts
from domain.admin.sessions import AdminSessions
from domain.audit.models import AuditEntry
from domain.audit.service import AuditLog
from tests.support.admins import PASSWORD, TESTER, cheap_passwords

NOW = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
pytestmark = pytest.mark.frozen_at(NOW)


@pytest.fixture
def services(resources, clock):  # ``resources``: the migrated database, emptied before each test
    passwords = cheap_passwords()
    return AdminAccounts(clock=clock, passwords=passwords), AdminSessions(clock=clock, passwords=passwords)


async def _create(accounts, username="zhang.wei", roles=("topic_editor",)):
    return await accounts.create(actor=TESTER, username=username, display_name="张伟", password=PASSWORD,
                                 roles=list(roles), request_id="req-create")


async def test_create_stores_an_argon2id_hash_and_audits_without_it(services):
    accounts, _ = services
    view = await _create(accounts, roles=["operator", "topic_editor"])
    assert view.roles == ("topic_editor", "operator") and view.status == "active"
    stored = await AdminAccount.get(username="zhang.wei")
    assert stored.password_hash.startswith("$argon2id$") and PASSWORD not in stored.password_hash
    entry = await AuditEntry.get(action="account.create")
    assert (entry.actor_username, entry.target_id, entry.request_id) == ("system:test", "zhang.wei", "req-create")
    assert entry.before is None and entry.after["roles"] == ["topic_editor", "operator"]
    assert "password_hash" not in entry.after and stored.password_hash not in str(entry.after)


async def test_duplicates_and_bad_values_are_refused(services):
    accounts, _ = services
    await _create(accounts)
    with pytest.raises(errors.AdminAccountExists):
        await _create(accounts)
    with pytest.raises(errors.AdminAccountInvalid) as refused:
        await accounts.create(actor=TESTER, username="li", display_name="李", password="short", roles=["root"])
    assert {e["field"] for e in refused.value.extra["errors"]} == {"username", "password", "roles"}


async def test_login_authenticate_logout(services):
    accounts, sessions = services
    await _create(accounts)
    issued = await sessions.login(username="zhang.wei", password=PASSWORD, ip="10.0.0.1")
    principal = await sessions.authenticate(issued.token)
    assert (principal.username, principal.roles) == ("zhang.wei", frozenset({"topic_editor"}))
    assert await AdminSession.filter(token_hash=issued.token).count() == 0  # only its hash is stored
    await sessions.logout(principal=principal)
    with pytest.raises(errors.AdminSessionInvalid):
        await sessions.authenticate(issued.token)
    assert [e.action for e in (await AuditLog.list()).entries] == ["session.logout", "session.login", "account.create"]


async def test_unknown_user_and_wrong_password_look_the_same(services):
    accounts, sessions = services
    await _create(accounts)
    for username, password in (("nobody", PASSWORD), ("zhang.wei", "wrong password!")):
        with pytest.raises(errors.AdminCredentialsInvalid) as refused:
            await sessions.login(username=username, password=password)
        assert refused.value.extra == {}


async def test_five_failures_lock_even_the_right_password_out_for_fifteen_minutes(services, clock):
    accounts, sessions = services
    await _create(accounts)
    for _ in range(4):
        with pytest.raises(errors.AdminCredentialsInvalid):
            await sessions.login(username="zhang.wei", password="wrong password!")
    with pytest.raises(errors.AdminAccountLocked) as locked:
        await sessions.login(username="zhang.wei", password="wrong password!")
    assert locked.value.retry_after == 15 * 60 + 1
    clock.advance(14 * 60)
    with pytest.raises(errors.AdminAccountLocked):
        await sessions.login(username="zhang.wei", password=PASSWORD)
    clock.advance(60)
    assert (await sessions.login(username="zhang.wei", password=PASSWORD)).principal.username == "zhang.wei"
    assert await AdminLoginFailure.all().count() == 0  # a success forgets the name's failures
    assert await AuditEntry.filter(action="account.lock").count() == 1


async def test_a_success_resets_the_count_of_failures(services):
    accounts, sessions = services
    await _create(accounts)
    for _ in range(2):
        for _ in range(4):
            with pytest.raises(errors.AdminCredentialsInvalid):
                await sessions.login(username="zhang.wei", password="wrong password!")
        await sessions.login(username="zhang.wei", password=PASSWORD)  # never five in a row


async def test_an_operator_lifts_a_lockout(services):
    accounts, sessions = services
    await _create(accounts)
    for _ in range(5):
        with pytest.raises((errors.AdminCredentialsInvalid, errors.AdminAccountLocked)):
            await sessions.login(username="zhang.wei", password="wrong password!")
    assert (await accounts.get("zhang.wei")).locked_until == datetime(2026, 3, 1, 1, 15, tzinfo=UTC)
    lifted = await accounts.update(actor=TESTER, username="zhang.wei", status="active")
    assert lifted.locked_until is None
    await sessions.login(username="zhang.wei", password=PASSWORD)


async def test_a_hash_made_with_old_parameters_is_upgraded_at_login(resources, clock):
    old = Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    new = Passwords(PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1))
    await AdminAccounts(clock=clock, passwords=old).create(actor=TESTER, username="zhang.wei", display_name="张伟",
                                                          password=PASSWORD, roles=["operator"])
    before = (await AdminAccount.get(username="zhang.wei")).password_hash
    assert new.needs_rehash(before)
    await AdminSessions(clock=clock, passwords=new).login(username="zhang.wei", password=PASSWORD)
    after = (await AdminAccount.get(username="zhang.wei")).password_hash
    assert after != before and "m=2048,t=2" in after and not new.needs_rehash(after)
    assert await new.verify(after, PASSWORD)


async def test_sessions_end_when_idle_too_old_disabled_or_password_reset(services, clock):
    accounts, sessions = services
    await _create(accounts, username="ops", roles=["operator"])
    await _create(accounts)
    idle = await sessions.login(username="zhang.wei", password=PASSWORD)
    clock.advance(2 * 3600)
    with pytest.raises(errors.AdminSessionInvalid):
        await sessions.authenticate(idle.token)
    for change in ({"status": "disabled"}, {"password": "a brand new password"}):
        issued = await sessions.login(username="zhang.wei", password=PASSWORD)
        await accounts.update(actor=TESTER, username="zhang.wei", **change)
        with pytest.raises(errors.AdminSessionInvalid):
            await sessions.authenticate(issued.token)
        await accounts.update(actor=TESTER, username="zhang.wei", status="active", password=PASSWORD)
    busy = await sessions.login(username="zhang.wei", password=PASSWORD)
    for _ in range(11):
        clock.advance(3600)
        await sessions.authenticate(busy.token)
    clock.advance(3600)
    with pytest.raises(errors.AdminSessionInvalid):
        await sessions.authenticate(busy.token)


async def test_a_disabled_account_cannot_log_in(services):
    accounts, sessions = services
    await _create(accounts)
    await accounts.update(actor=TESTER, username="zhang.wei", status="disabled")
    with pytest.raises(errors.AdminAccountDisabled):
        await sessions.login(username="zhang.wei", password=PASSWORD)


async def test_roles_change_at_once_and_the_last_operator_stays(services):
    accounts, sessions = services
    await _create(accounts, username="ops", roles=["operator"])
    issued = await sessions.login(username="ops", password=PASSWORD)
    for change in ({"status": "disabled"}, {"roles": ["topic_editor"]}):
        with pytest.raises(errors.LastOperator):
            await accounts.update(actor=TESTER, username="ops", **change)
    await _create(accounts, username="ops2", roles=["operator"])
    await accounts.update(actor=TESTER, username="ops", roles=["topic_editor"])
    assert (await sessions.authenticate(issued.token)).roles == frozenset({"topic_editor"})


async def test_an_update_that_fails_leaves_no_audit_entry_and_vice_versa(services, monkeypatch):
    accounts, _ = services
    await _create(accounts)
    with pytest.raises(errors.AdminAccountNotFound):
        await accounts.update(actor=TESTER, username="nobody", display_name="x")

    async def audit_fails(**_):
        raise RuntimeError("audit store down")

    monkeypatch.setattr(AuditLog, "record", staticmethod(audit_fails))
    with pytest.raises(RuntimeError):
        await accounts.update(actor=TESTER, username="zhang.wei", display_name="张伟伟")
    assert (await AdminAccount.get(username="zhang.wei")).display_name == "张伟"  # no change without its entry
    assert await AuditEntry.filter(action="account.update").count() == 0


async def test_a_no_op_update_records_nothing(services):
    accounts, _ = services
    await _create(accounts)
    await accounts.update(actor=TESTER, username="zhang.wei", display_name="张伟", roles=["topic_editor"])
    assert await AuditEntry.filter(action="account.update").count() == 0
