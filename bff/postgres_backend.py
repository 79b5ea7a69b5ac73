"""PostgreSQL through Tortoise's asyncpg client, with a transaction that cleans up when it cannot begin.

Tortoise's pooled transaction takes a connection from the pool and makes itself the task's current
connection (a context variable) before it sends BEGIN. When BEGIN fails — the database gone, as in
a restart — its ``__aenter__`` raises without undoing either: the connection never goes back to the
pool, and the task keeps a dead transaction as its current connection. Sanic serves a keep-alive
connection's requests in one task, and the submit writer serves batch after batch in one: later
requests in that task took the dead transaction for a caller's own (``in_callers_transaction``) and
failed with errors no outage check knew — likely the 500s after PostgreSQL was back (tests/faults/
test_hub_faults.py, seen in CI). Here a failed BEGIN undoes both (bff/transactions.py) and raises
the database's error.
"""
from __future__ import annotations

import contextlib

from tortoise.backends.asyncpg.client import AsyncpgDBClient, TransactionWrapper
from tortoise.backends.base.client import TransactionContext, TransactionContextPooled

from bff.transactions import begin_as_current


class CleanTransactionContext(TransactionContextPooled):
    async def __aenter__(self):
        await self.ensure_connection()
        pool = self.client._parent._pool
        self.client._connection = await pool.acquire()
        try:
            self.token = await begin_as_current(self.connection_name, self.client)
        except BaseException:
            with contextlib.suppress(Exception):  # a broken connection: the pool discards it
                await pool.release(self.client._connection)
            raise
        return self.client


class CleanAsyncpgClient(AsyncpgDBClient):
    def _in_transaction(self) -> TransactionContext:
        return CleanTransactionContext(TransactionWrapper(self), self._pool_init_lock)


client_class = CleanAsyncpgClient  # what Tortoise loads an ``engine`` module for
