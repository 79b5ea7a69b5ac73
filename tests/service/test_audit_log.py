"""The audit log: recording on the caller's transaction, filters, cursor paging."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tortoise.transactions import in_transaction

from domain.audit.errors import AuditQueryInvalid
from domain.audit.models import AuditEntry
from domain.audit.service import AuditFilters, AuditLog, SystemActor

T0 = datetime(2026, 3, 1, tzinfo=UTC)
ALICE = SystemActor("alice")
BOB = SystemActor("bob")


async def _record(actor, target_id, at, action="topic.update"):
    await AuditLog.record(actor=actor, action=action, target_type="topic", target_id=target_id,
                          before={"at": at, "roles": {"b", "a"}}, after=None, request_id="r1", at=at)


async def test_values_are_stored_as_json(resources):
    await _record(ALICE, "jiuye", T0)
    entry = (await AuditLog.list()).entries[0]
    assert entry.before == {"at": T0.isoformat(), "roles": ["a", "b"]}
    assert (entry.actor_username, entry.actor_id, entry.request_id) == ("alice", None, "r1")


async def test_an_entry_rolls_back_with_its_transaction(resources):
    with pytest.raises(RuntimeError):
        async with in_transaction():
            await _record(ALICE, "jiuye", T0)
            raise RuntimeError("the change failed after its entry was written")
    assert await AuditEntry.all().count() == 0


async def test_filters(resources):
    for minutes, actor, target in ((0, ALICE, "jiuye"), (1, BOB, "jiuye"), (2, ALICE, "shebao")):
        await _record(actor, target, T0 + timedelta(minutes=minutes))
    await AuditLog.record(actor=BOB, action="account.update", target_type="admin_account", target_id="jiuye",
                          before=None, after=None, at=T0)

    async def ids(**filters):
        return [(e.actor_username, e.target_id) for e in (await AuditLog.list(AuditFilters(**filters))).entries]

    assert await ids(target_type="topic", target_id="jiuye") == [("bob", "jiuye"), ("alice", "jiuye")]
    assert await ids(actor="alice") == [("alice", "shebao"), ("alice", "jiuye")]
    assert await ids(target_type="topic", since=T0 + timedelta(minutes=1)) == [("alice", "shebao"), ("bob", "jiuye")]


async def test_cursor_pages_cover_everything_once_even_as_entries_arrive(resources):
    for n in range(7):
        await _record(ALICE, f"t{n}", T0)
    seen, cursor = [], None
    while True:
        page = await AuditLog.list(limit=3, cursor=cursor)
        seen += [e.target_id for e in page.entries]
        await _record(BOB, "meanwhile", T0)  # newer than every page: never shows up on a later page
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [f"t{n}" for n in reversed(range(7))]


@pytest.mark.parametrize("cursor", ["garbage", "YXVkaXQ6eA", "Zm9vOjE"])
async def test_a_forged_cursor_is_refused(resources, cursor):
    with pytest.raises(AuditQueryInvalid):
        await AuditLog.list(cursor=cursor)
