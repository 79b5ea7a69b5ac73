"""Month partitions kept up on PostgreSQL (docs/partitions.md): the months ahead made before rows
arrive, old months detached for an operator to archive and drop. On SQLite the tables are plain
and every use case answers that there is nothing to do.

The tables were partitioned by migration 0024; ``PARTITIONED`` says the same here, with the rule
for rows still live: a month holding one is never detached, so an archive never takes away an
application still in progress or a delivery still owed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.applications import rules as application_rules
from domain.delivery import rules as delivery_rules
from domain.partitions import rules
from domain.partitions.rules import Month
from domain.shared.clock import Clock

log = logging.getLogger(__name__)

AHEAD = 3  # months made ahead of the current one: a quarter of slack if the job stops
LOCK_TIMEOUT = "5s"  # a detach waits this long for the parent's lock, then gives up (run it again)
_LOCK = 0x67_6F_76_70  # advisory lock: one maintainer at a time (the job, the CLI)


def _quoted(values) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))


@dataclass(frozen=True)
class PartitionedTable:
    table: str
    key: str  # the partition key: a timestamptz column set from the domain clock
    live: str | None  # SQL condition of rows still live: their month is never detached
    unique: str | None = None  # unique across months: kept in the key table (migration 0024)
    keys_table: str | None = None  # id, unique, key: what other tables' foreign keys point at


PARTITIONED = (
    # an application in progress (not rejected, completed or withdrawn) is still worked on
    PartitionedTable("applications", "submitted_at", f"status NOT IN ({_quoted(application_rules.TERMINAL)})",
                     "number", "application_keys"),
    # pending: the relay still owes it; parked: an operator may resend it
    PartitionedTable("deliveries", "created_at", f"status <> '{delivery_rules.DELIVERED}'",
                     "dedupe_key", "delivery_keys"),
    # a message is a record of what was sent; what is still to send lives in deliveries
    PartitionedTable("notifications", "at", None),
)


class PartitionsUnsupported(Exception):
    """The database is not PostgreSQL: its tables are not partitioned."""


class DetachRefused(Exception):
    def __init__(self, message: str, code: str = "detach_refused") -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    month: Month | None  # None: the DEFAULT partition
    rows: int  # PostgreSQL's estimate (pg_class.reltuples; 0 before the first ANALYZE)


@dataclass
class DetachReport:
    detached: list[str] = field(default_factory=list)
    refused: dict[str, int] = field(default_factory=dict)  # partition -> live rows in it


class PartitionService:
    def __init__(self, *, clock: Clock, connection: str = "default") -> None:
        self.clock = clock
        self._connection = connection

    def _db(self) -> BaseDBAsyncClient:
        return connections.get(self._connection)

    def supported(self) -> bool:
        return self._db().capabilities.dialect == "postgres"

    def _require(self) -> None:
        if not self.supported():
            raise PartitionsUnsupported("partitions exist on PostgreSQL only; SQLite keeps plain tables")

    async def list(self) -> list[Partition]:
        """Every attached partition of every partitioned table, oldest month first, DEFAULT last."""
        self._require()
        found: list[Partition] = []
        for spec in PARTITIONED:
            rows = await self._db().execute_query_dict(
                "SELECT c.relname AS name, greatest(c.reltuples, 0)::bigint AS rows FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST($1 AS regclass)", [spec.table])
            parts = [Partition(spec.table, r["name"], rules.month_of_partition(spec.table, r["name"]), r["rows"])
                     for r in rows]
            found += sorted(parts, key=lambda p: (p.month is None, p.month or Month(1970, 1)))
        return found

    async def ensure(self, *, ahead: int = AHEAD, now: datetime | None = None) -> list[str]:
        """Make the partitions of the current month and ``ahead`` months after it, and the
        DEFAULT partition, where missing. Rows already in DEFAULT for a month made now move to
        it in the same transaction. Returns the partitions made."""
        self._require()
        months = rules.months_to_cover(now or self.clock.now(), ahead)
        made: list[str] = []
        partitions = await self.list()
        for spec in PARTITIONED:
            existing = {p.name for p in partitions if p.table == spec.table}
            default = rules.default_partition_name(spec.table)
            if default not in existing:
                await self._db().execute_script(f'CREATE TABLE IF NOT EXISTS "{default}" PARTITION OF '
                                                f'"{spec.table}" DEFAULT')
                made.append(default)
            for month in months:
                name = rules.partition_name(spec.table, month)
                if name not in existing and await self._make(spec, month):
                    made.append(name)
        if made:
            log.info("partitions made: %s", ", ".join(made))
        return made

    async def _make(self, spec: PartitionedTable, month: Month) -> bool:
        name, default = rules.partition_name(spec.table, month), rules.default_partition_name(spec.table)
        bounds = f"FROM ('{month.start.isoformat()}') TO ('{month.end.isoformat()}')"
        in_range = f'"{spec.key}" >= $1 AND "{spec.key}" < $2'
        async with in_transaction(self._connection) as conn:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_LOCK])
            if await self._exists(conn, name):
                return False  # made meanwhile by another maintainer
            stray = await conn.execute_query_dict(f'SELECT 1 FROM "{default}" WHERE {in_range} LIMIT 1',
                                                  [month.start, month.end]) if await self._exists(conn, default) else []
            if not stray:
                await conn.execute_script(f'CREATE TABLE "{name}" PARTITION OF "{spec.table}" FOR VALUES {bounds}')
                return True
            # Rows of this month went to DEFAULT (the job did not run in time): move them to the
            # new month's table before attaching it. A plain table has none of the parent's
            # triggers, and deleting from DEFAULT fires none that matter (the key rows stay).
            await conn.execute_script(f'LOCK TABLE "{spec.table}" IN SHARE ROW EXCLUSIVE MODE; '
                                      f'CREATE TABLE "{name}" (LIKE "{spec.table}" INCLUDING DEFAULTS)')
            await conn.execute_query(f'INSERT INTO "{name}" SELECT * FROM "{default}" WHERE {in_range}',
                                     [month.start, month.end])
            moved = await conn.execute_query(f'DELETE FROM "{default}" WHERE {in_range}', [month.start, month.end])
            await conn.execute_script(f'ALTER TABLE "{spec.table}" ATTACH PARTITION "{name}" FOR VALUES {bounds}')
            log.warning("partition %s made late: %s rows moved out of %s", name, moved[0], default)
        return True

    @staticmethod
    async def _exists(conn: BaseDBAsyncClient, name: str) -> bool:
        rows = await conn.execute_query_dict("SELECT to_regclass($1) IS NOT NULL AS found", [f'public."{name}"'])
        return bool(rows[0]["found"])

    async def detach(self, *, before: Month, now: datetime | None = None) -> DetachReport:
        """Detach every month partition that ends before ``before`` starts, oldest first, so an
        operator can archive (``pg_dump -t``) and drop it. A month holding a live row is refused,
        and so is every later month of that table: what stays attached is always one unbroken
        run of months. The detached table keeps its name."""
        self._require()
        problem = rules.detach_problem(before, now or self.clock.now())
        if problem:
            raise DetachRefused(problem, code="month_not_ended")
        report = DetachReport()
        partitions = await self.list()
        for spec in PARTITIONED:
            names = [p.name for p in partitions if p.table == spec.table]
            for name, _month in rules.detachable(spec.table, names, before):
                live = await self._detach_unless_live(spec, name)
                if live:
                    report.refused[name] = live
                    break
                report.detached.append(name)
        if report.detached:
            log.warning("partitions detached: %s", ", ".join(report.detached))
        return report

    async def _detach_unless_live(self, spec: PartitionedTable, name: str) -> int:
        """The live rows found (nothing detached), or 0 once detached. One transaction: the
        partition is locked against writes before it is counted, so nothing turns live between
        the count and the detach. (DETACH ... CONCURRENTLY would need no DEFAULT partition and no
        transaction; the plain DETACH holds the parent's lock only for the catalog change.)"""
        async with in_transaction(self._connection) as conn:
            await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_LOCK])
            await conn.execute_script(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'; "
                                      f'LOCK TABLE "{name}" IN SHARE MODE')
            if spec.live:
                rows = await conn.execute_query_dict(f'SELECT count(*) AS live FROM "{name}" WHERE {spec.live}')
                if rows[0]["live"]:
                    return rows[0]["live"]
            await conn.execute_script(f'ALTER TABLE "{spec.table}" DETACH PARTITION "{name}"')
        return 0
