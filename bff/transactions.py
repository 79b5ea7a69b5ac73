"""The one rule both database engines keep when a transaction begins (bff/postgres_backend.py,
bff/sqlite_backend.py): the transaction becomes the task's current connection only if its BEGIN
succeeded. Tortoise's own contexts set it first and leave it set when BEGIN fails, and the task's
later work then runs on a transaction that never began."""
from __future__ import annotations

from contextvars import Token

from tortoise.backends.base.client import TransactionalDBClient
from tortoise.connection import get_connections


async def begin_as_current(connection_name: str, transaction: TransactionalDBClient) -> Token:
    """BEGIN ``transaction`` as the task's current connection; its token, to reset when it ends.
    On failure the task's current connection is what it was, and BEGIN's error is raised."""
    token = get_connections().set(connection_name, transaction)
    try:
        await transaction.begin()
    except BaseException:
        get_connections().reset(token)
        raise
    return token
