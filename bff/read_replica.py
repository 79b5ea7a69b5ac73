"""Reads of public reference data from a streaming replica, below the domain's notice.

Set up by ``bff/database.py`` when ``GOVHUB_DATABASE_REPLICA_URL`` names a replica: Tortoise gets
a second connection, ``replica`` (this module is its engine: ``client_class``), and a router
(``ReplicaRouter``). The domain keeps reading through its models and ``Tortoise`` as before; a
read goes to the replica only when all of these hold (``reads_from_replica``):

- the request allows it (``replica_reads``: set per request by ``bff/common/read_routing.py``:
  public catalog, home and list routes, and not a person who wrote in the last seconds);
- the table is public reference data (``REFERENCE_TABLES``): a person's own rows never are;
- no transaction is open on the primary in this task (a transaction reads what it writes);
- the replica answered its last probe and is at most ``max_lag`` behind (``ReplicaHealth``).

A read that fails on the replica (down, restarting, cut off, too slow, a recovery conflict) is run
again on the primary in the same call, and the replica is left alone until a probe finds it back:
callers never see its faults. docs/read-replica.md has the reasoning.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections import Counter

import asyncpg
from tortoise import connections
from tortoise.backends.asyncpg.client import AsyncpgDBClient
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.exceptions import DBConnectionError

from bff.replica_health import ReplicaHealth, lsn, probe_interval

log = logging.getLogger("govhub.replica")

REPLICA = "replica"  # the Tortoise connection's name
PRIMARY = "default"
# Public reference data the hub shows to anyone, written by product teams and imports, never by a
# citizen. Not the topics nor the search words: each process holds them in memory until a change
# is announced, so their reads are rare, and one that came from a replica a little behind would
# keep the old list alive after the announcement (docs/read-replica.md).
REFERENCE_TABLES = frozenset({
    "matters", "catalog_items", "regions", "departments", "zones", "zone_regions", "bundles",
    "figure_rollups",
})
APPLICATION_NAME = "govhub-replica-reads"  # how operators (and tests) tell the hub's replica sessions
PROBE_TIMEOUT = 2.0  # seconds a probe waits for either server
CONNECT_TIMEOUT = 2.0  # a replica host that has vanished must not hold a read for asyncpg's 60 s
COMMAND_TIMEOUT = 10.0  # a replica that hangs: the read is run again on the primary

# Set by the request layer for the request's task: may this request's reads go to the replica?
replica_reads: contextvars.ContextVar[bool] = contextvars.ContextVar("govhub_replica_reads", default=False)


class ReplicaRouting:
    """The process's one replica: its health, its probe and what it served (``counts``)."""

    def __init__(self) -> None:
        self.health: ReplicaHealth | None = None
        self.client: AsyncpgDBClient | None = None
        self.counts: Counter[str] = Counter()  # replica_reads, retried_on_primary, replica_lost, ...
        self._probe: asyncio.Task | None = None

    def start(self, *, max_lag: float) -> None:
        """Just after ``Tortoise.init`` with the replica among its connections."""
        self.client = connections.get(REPLICA)
        # Tortoise lets ``in_transaction()`` name no connection only while it knows one database,
        # and the domain names none. The replica is never written nor given a transaction, so it
        # leaves Tortoise's list and stays in its storage, where the router's name still finds it.
        connections.db_config.pop(REPLICA)
        self.health = ReplicaHealth(max_lag=max_lag)
        self.counts.clear()
        self._probe = asyncio.create_task(self._watch(), name="replica-probe")

    async def stop(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
        if self.client is not None:  # not in Tortoise's list: Tortoise would not close it
            await self.client.close()
            connections.discard(REPLICA)
        self._probe, self.health, self.client = None, None, None

    def reads_from_replica(self, table: str) -> bool:
        if (self.health is None or not replica_reads.get() or table not in REFERENCE_TABLES
                or isinstance(connections.get(PRIMARY), TransactionalDBClient)):
            return False
        if self.health.usable(time.monotonic()):
            self.counts["replica_reads"] += 1
            return True
        self.counts["primary_instead"] += 1  # down or too far behind
        return False

    def lost(self, exc: BaseException) -> None:
        if self.health is not None and self.health.lost(time.monotonic()):
            self.counts["replica_lost"] += 1
            log.warning("read replica failed (%s): reading from the primary until it is back", _name(exc))

    async def _watch(self) -> None:
        while True:
            health = self.health
            await asyncio.sleep(max(0.0, health.next_look - time.monotonic()))
            try:
                await self.probe_once()
            except Exception:  # a bug here must not end the watch: the replica would age out unseen
                log.exception("replica probe failed")
                health.failed(time.monotonic())

    async def probe_once(self) -> None:
        health, started = self.health, time.monotonic()
        try:
            primary = await _first_value(connections.get(PRIMARY), "SELECT pg_current_wal_lsn()::text")
        except Exception as exc:  # noqa: BLE001 - the primary's own trouble is not the replica's: look again later
            log.debug("replica probe: the primary did not answer (%s)", _name(exc))
            health.next_look = started + probe_interval(health.max_lag)
            return
        was_up = health.up
        try:
            row = await asyncio.wait_for(AsyncpgDBClient.execute_query_dict(  # without the fallback
                self.client, "SELECT pg_is_in_recovery() AS recovery, "
                "coalesce(pg_last_wal_replay_lsn(), '0/0')::text AS lsn"), PROBE_TIMEOUT)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the replica cannot serve now
            if health.failed(time.monotonic()):
                log.warning("read replica is down (%s): reading from the primary", _name(exc))
            return
        if not row[0]["recovery"]:  # promoted: no longer a copy whose lag can be bounded
            if health.failed(time.monotonic()):
                log.warning("read replica is not in recovery (promoted?): reading from the primary")
            return
        health.probed(started=started, primary_lsn=lsn(primary), replica_lsn=lsn(row[0]["lsn"]))
        if not was_up:
            self.counts["replica_up"] += 1
            log.warning("read replica in use for public reads (%s)", "back" if self.counts["replica_up"] > 1 else "first")


ROUTING = ReplicaRouting()


class ReplicaRouter:
    """Tortoise's router (``routers`` in the config): writes and most reads to the primary."""

    def db_for_read(self, model) -> str:
        return REPLICA if ROUTING.reads_from_replica(model._meta.db_table) else PRIMARY

    def db_for_write(self, model) -> str:
        return PRIMARY


class ReplicaClient(AsyncpgDBClient):
    """The replica's connection: a read it cannot answer is answered by the primary."""

    async def execute_query(self, query: str, values: list | None = None):
        try:
            return await super().execute_query(query, values)
        except Exception as exc:
            if not _replica_fault(exc):
                raise
            return await connections.get(PRIMARY).execute_query(query, values)

    async def execute_query_dict(self, query: str, values: list | None = None) -> list[dict]:
        try:
            return await super().execute_query_dict(query, values)
        except Exception as exc:
            if not _replica_fault(exc):
                raise
            return await connections.get(PRIMARY).execute_query_dict(query, values)


client_class = ReplicaClient  # Tortoise finds a connection's client class here (its "engine")


def _replica_fault(exc: BaseException) -> bool:
    """Is this the replica's trouble (run the read on the primary) rather than the query's?"""
    if isinstance(exc, asyncpg.TransactionRollbackError):  # a conflict with recovery: the replica is fine
        ROUTING.counts["retried_on_primary"] += 1
        return True
    faults = (OSError, asyncio.TimeoutError, DBConnectionError, asyncpg.PostgresConnectionError,
              asyncpg.InterfaceError, asyncpg.OperatorInterventionError, asyncpg.InsufficientResourcesError)
    if isinstance(exc, faults) or isinstance(exc.__cause__, faults):
        ROUTING.counts["retried_on_primary"] += 1
        ROUTING.lost(exc)
        return True
    return False


def connection(replica_url_config: dict) -> dict:
    """The replica's Tortoise connection from its expanded URL: this module as the engine."""
    credentials = {**replica_url_config["credentials"], "timeout": CONNECT_TIMEOUT,
                   "command_timeout": COMMAND_TIMEOUT, "application_name": APPLICATION_NAME}
    return {**replica_url_config, "engine": __name__, "credentials": credentials}


async def _first_value(client, sql: str):
    rows = await asyncio.wait_for(client.execute_query_dict(sql), PROBE_TIMEOUT)
    return next(iter(rows[0].values()))


def _name(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]
