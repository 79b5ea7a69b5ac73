"""Is this error the database or Redis being gone? Then the request gets a 503 that says so (with
Retry-After), not a 500: nothing is wrong with the request or the code, and the client should send
it again shortly (with its Idempotency-Key, for a write). docs/faults.md has what was measured.

Only what means "the server is not there" counts: refused or reset connections, a server starting
up or shutting down, a connection closed under a query, a connect that timed out. A query that
breaks a rule, a lock timeout or a bad statement is still the bug (500) or the conflict it is.
Tortoise passes asyncpg's and the sockets' errors through unwrapped; redis.asyncio raises its own
ConnectionError and TimeoutError. A bare OSError or TimeoutError is put down to the library in
whose code it was raised."""
from __future__ import annotations

import asyncpg.exceptions as pg
import redis.exceptions as rx

DATABASE, REDIS = "database", "redis"

_DATABASE_GONE = (
    pg.PostgresConnectionError,  # class 08: connection failure, does not exist, ...
    pg.CannotConnectNowError,  # 57P03: starting up, shutting down, in recovery
    pg.AdminShutdownError,  # 57P01: terminated by a fast or immediate shutdown
    pg.CrashShutdownError,  # 57P02
)
_REDIS_GONE = (rx.ConnectionError, rx.TimeoutError)  # BusyLoadingError (loading a dump) is a ConnectionError


def lost_service(error: BaseException) -> str | None:
    """``"database"``, ``"redis"`` or None, from ``error`` and the errors it was raised from."""
    for link in _chain(error):
        if isinstance(link, _DATABASE_GONE) or _closed_pool_connection(link):
            return DATABASE
        if isinstance(link, _REDIS_GONE):
            return REDIS
        if isinstance(link, OSError | TimeoutError):
            raised_in = _raised_in(link)
            if raised_in in ("asyncpg", "tortoise"):
                return DATABASE
            if raised_in == "redis":
                return REDIS
    return None


def _closed_pool_connection(error: BaseException) -> bool:
    """asyncpg's InterfaceError is mostly misuse; "connection is closed" is the server gone."""
    return isinstance(error, pg.InterfaceError) and "closed" in str(error)


def _chain(error: BaseException, limit: int = 10):
    seen: set[int] = set()
    while error is not None and id(error) not in seen and len(seen) < limit:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _raised_in(error: BaseException) -> str | None:
    """The top-level package of the last library frame (not asyncio's, not ours) in the traceback."""
    found = None
    frame = error.__traceback__
    while frame is not None:
        package = frame.tb_frame.f_globals.get("__name__", "").split(".")[0]
        if package in ("asyncpg", "tortoise", "redis"):
            found = package
        frame = frame.tb_next
    return found
