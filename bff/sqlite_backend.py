"""The embedded default's SQLite, for several processes at once: transactions begin IMMEDIATE.

The hub's worker and its scheduler process (relays, bundle and figures jobs) write to one SQLite
file. Tortoise begins a transaction DEFERRED: it reads from a snapshot and asks for the write lock
only at its first write. If another process committed in between, SQLite cannot move that snapshot
forward and refuses the write at once ("database is locked", SQLITE_BUSY_SNAPSHOT) — no busy
timeout helps. Seen as rare 500s on the SMS-code route in the live-hub tests (a read of the last
codes, then the new code's insert). ``BEGIN IMMEDIATE`` takes the write lock first, waiting up to
the busy timeout for another process's transaction to end; a transaction then never meets a write
made after its reads. PostgreSQL needs none of this (bff/database.py).
"""
from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError

BUSY_TIMEOUT_MS = 15_000  # how long a transaction waits for another process's to end (sqlite3: 5 s)


class ImmediateTransaction(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc

    def _in_transaction(self) -> TransactionContext:
        return NestedTransactionContext(ImmediateTransaction(self))


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransaction(self), self._lock)


client_class = ImmediateSqliteClient  # what Tortoise loads an ``engine`` module for
