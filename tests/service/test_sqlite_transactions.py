"""The embedded SQLite with another process writing: a transaction that reads, then writes, is not
refused because the other process committed in between (bff/sqlite_backend.py). On PostgreSQL
there is nothing to check."""
from __future__ import annotations

import asyncio
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from tortoise.transactions import in_transaction

from bff.database import sqlite_path
from domain.identity.models import SmsChallenge

AT = datetime(2026, 12, 7, 2, 0, tzinfo=timezone.utc)


def _other_process_writes(path: str) -> None:
    """Another process (the scheduler, say) inserting and committing on its own connection."""
    other = sqlite3.connect(path, timeout=10, isolation_level=None)
    try:
        other.execute("INSERT INTO sms_challenges (phone_hash, code_hash, attempts, created_at, expires_at)"
                      " VALUES ('other', 'x', 0, ?, ?)", (AT.isoformat(), (AT + timedelta(minutes=5)).isoformat()))
    finally:
        other.close()


async def test_a_read_then_write_transaction_survives_a_write_made_by_another_process_between(settings, resources):
    if not settings.database_url.startswith("sqlite://"):
        pytest.skip("SQLite only: PostgreSQL has no snapshot that refuses a later write")
    path = sqlite_path(settings.database_url)
    async with in_transaction():
        assert await SmsChallenge.filter(phone_hash="ours").count() == 0  # a read: a deferred BEGIN's snapshot
        other = asyncio.create_task(asyncio.to_thread(_other_process_writes, path))
        await asyncio.sleep(0.3)  # its write is in (deferred) or waiting for ours to end (immediate)
        await SmsChallenge.create(phone_hash="ours", code_hash="y", created_at=AT, expires_at=AT + timedelta(minutes=5))
    await other
    assert sorted(await SmsChallenge.all().values_list("phone_hash", flat=True)) == ["other", "ours"]
