"""The embedded default's SQLite, for several processes at once: transactions begin IMMEDIATE.

The hub's worker and its scheduler process (relays, bundle and figures jobs) write to one SQLite
file. Tortoise begins a transaction DEFERRED: it reads from a snapshot and asks for the write lock
only at its first write. If another process committed in between, SQLite cannot move that snapshot
forward and refuses the write at once ("database is locked", SQLITE_BUSY_SNAPSHOT) — no busy
timeout helps. Seen as rare 500s on the SMS-code route in the live-hub tests (a read of the last
codes, then the new code's insert). ``BEGIN IMMEDIATE`` takes the write lock first, waiting up to
the busy timeout for another process's transaction to end; a transaction then never meets a write
made after its reads. PostgreSQL needs none of this (bff/database.py).

A BEGIN IMMEDIATE can fail (another process held the lock past the busy timeout). Tortoise's
transaction context would then keep its lock on the process's one connection and leave itself the
task's current connection: every later transaction of the process would wait forever. Here a failed
BEGIN releases both (bff/transactions.py; bff/postgres_backend.py does the same for PostgreSQL).
"""
from __future__ import annotations

import sqlite3

from tortoise.backends.base.client import NestedTransactionContext, TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError

from bff.transactions import begin_as_current

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


class CleanSqliteTransactionContext(SqliteTransactionContext):
    async def __aenter__(self):
        await self._trxlock.acquire()
        try:
            await self.ensure_connection()
            self.token = await begin_as_current(self.connection_name, self.connection)
        except BaseException:
            self._trxlock.release()
            raise
        return self.connection


class ImmediateSqliteClient(SqliteClient):
    def _in_transaction(self) -> TransactionContext:
        return CleanSqliteTransactionContext(ImmediateTransaction(self), self._lock)


client_class = ImmediateSqliteClient  # what Tortoise loads an ``engine`` module for
