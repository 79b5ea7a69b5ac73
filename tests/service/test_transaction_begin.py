"""A transaction whose BEGIN fails (the database gone; on SQLite, another process holding the lock
past the busy timeout) leaves nothing behind: the task's current connection is the database's own
again, a pooled connection goes back, SQLite's transaction lock is free — so the next transaction of
the same task (a keep-alive connection's next request, the submit writer's next batch) works
(bff/postgres_backend.py, bff/sqlite_backend.py)."""
from __future__ import annotations

import asyncio

import asyncpg
import pytest
from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import TransactionManagementError
from tortoise.transactions import in_transaction

from domain.identity.models import SmsChallenge
from tests.support.clock import suite_clock


def _failing_begin(monkeypatch, settings) -> type[Exception]:
    """BEGIN fails once, as it does when the database is gone; the error it raises."""
    if settings.database_url.startswith("sqlite://"):
        from bff.sqlite_backend import ImmediateTransaction as wrapper

        error = TransactionManagementError
    else:
        from tortoise.backends.asyncpg.client import TransactionWrapper as wrapper

        error = asyncpg.exceptions.ConnectionDoesNotExistError
    real = wrapper.begin
    calls = []

    async def begin(self):
        calls.append(1)
        if len(calls) == 1:
            raise error("connection was closed in the middle of operation")
        return await real(self)

    monkeypatch.setattr(wrapper, "begin", begin)
    return error


async def test_a_failed_begin_leaves_the_task_as_it_was(settings, resources, monkeypatch):
    database = connections.get("default")
    pool = getattr(database, "_pool", None)
    idle = pool.get_idle_size() if pool is not None else None
    error = _failing_begin(monkeypatch, settings)
    with pytest.raises(error):
        async with in_transaction():
            pass
    assert not isinstance(connections.get("default"), TransactionalDBClient)  # not a dead transaction
    if pool is not None:
        assert pool.get_idle_size() == idle  # the connection went back

    async def write() -> None:
        now = suite_clock.now()
        async with in_transaction():  # SQLite: its lock is free, or this would wait forever
            await SmsChallenge.create(phone_hash="after", code_hash="x", created_at=now, expires_at=now)

    await asyncio.wait_for(write(), 10)
    assert await SmsChallenge.filter(phone_hash="after").count() == 1
