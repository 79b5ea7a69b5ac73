"""The tables that grow without end, partitioned by month on PostgreSQL (issue #17, docs/partitions.md)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06

``applications`` by ``submitted_at``, ``deliveries`` by ``created_at``, ``notifications`` by
``at``: one partition per UTC month, from the oldest row's month to three months ahead of now,
and a DEFAULT partition so an insert never fails (the ensure_partitions job makes the months
ahead from then on). Existing rows are copied into the partitioned table; ids and their
sequences carry on.

PostgreSQL wants the partition key in every primary key and unique constraint of a partitioned
table, so:

- the primary keys become ``(id, <key>)``; ``id`` stays unique across months because
- a narrow unpartitioned key table keeps what must be unique across months and what other
  tables point at: ``application_keys (id, number, submitted_at)`` and ``delivery_keys (id,
  dedupe_key, created_at)``, filled by a BEFORE INSERT trigger in the same statement.
  A number used twice fails as before (unique violation); a dedupe key used twice is skipped
  as ``ON CONFLICT DO NOTHING`` did (the delivery service inserts that way and relies on it);
- the foreign keys of transitions, node events, materials and delivery attempts point at the key
  tables (a partitioned table can only be referenced through its whole primary key);
- a trigger refuses to change a row's id or unique key; a new partition key moves the row to
  its month (PostgreSQL deletes and inserts it, the key row follows);
- notifications' unique (application_number, at) already holds the partition key.

The key rows of a detached month stay: a number or dedupe key is never given again, and the
children of archived applications keep their foreign keys. SQLite keeps its plain tables: this
revision does nothing there. Downgrade copies the attached partitions back into plain tables
(detached ones stay as stand-alone tables, the operator's archive).
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import NamedTuple

import sqlalchemy as sa

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

AHEAD = 3  # months made ahead of now (the job keeps this many ready)


class Partitioned(NamedTuple):  # (no dataclass: Alembic loads this file outside sys.modules)
    table: str
    key: str  # the partition key: a timestamptz column set from the domain clock
    unique: str | None = None  # the column unique across months, kept in the key table
    width: int = 0  # its varchar length
    keys_table: str | None = None
    children: tuple[tuple[str, str], ...] = ()  # (table, column) pointing at the id
    skip_duplicates: bool = False  # a duplicate unique value: skip the row (ON CONFLICT DO NOTHING)


TABLES = (
    Partitioned("applications", "submitted_at", "number", 32, "application_keys",
                (("application_transitions", "application_id"), ("application_node_events", "application_id"),
                 ("application_materials", "application_id"))),
    Partitioned("deliveries", "created_at", "dedupe_key", 200, "delivery_keys",
                (("delivery_attempts", "delivery_id"),), skip_duplicates=True),
    Partitioned("notifications", "at"),
)


def _postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _rows(sql: str, **params) -> list:
    return op.get_bind().execute(sa.text(sql), params).fetchall()


def _month(at: datetime) -> tuple[int, int]:
    at = at.astimezone(UTC)
    return at.year, at.month


def _next(month: tuple[int, int], count: int = 1) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 + count
    return index // 12, index % 12 + 1


def _bound(month: tuple[int, int]) -> str:
    return f"'{month[0]:04d}-{month[1]:02d}-01 00:00:00+00'"


def _months(t: Partitioned, source: str) -> list[tuple[int, int]]:
    """From the oldest row's month (or now's) to AHEAD months after now's (frozen copy of
    domain/shared/partitions: a migration never imports the domain)."""
    now = _month(_rows("SELECT now()")[0][0])
    oldest = _rows(f'SELECT min("{t.key}") FROM "{source}"')[0][0]
    month, last, months = min(_month(oldest), now) if oldest else now, _next(now, AHEAD), []
    while month <= last:
        months.append(month)
        month = _next(month)
    return months


def _plain_indexes(table: str, skip: tuple[str, ...] = ()) -> list[str]:
    """CREATE INDEX statements of ``table``'s indexes that back no constraint."""
    return [r[1] for r in _rows(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = :t "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = CAST(:t AS regclass))", t=table)
        if r[0] not in skip]


def _constraints(table: str, kind: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in _rows(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = CAST(:t AS regclass) "
        f"AND contype = '{kind}' ORDER BY conname", t=table)]


def _drop_child_keys(t: Partitioned) -> None:
    for child, column in t.children:
        op.execute(f'ALTER TABLE "{child}" DROP CONSTRAINT IF EXISTS "{child}_{column}_fkey"')


def _add_child_keys(t: Partitioned, target: str) -> None:
    for child, column in t.children:
        op.execute(f'ALTER TABLE "{child}" ADD CONSTRAINT "{child}_{column}_fkey" FOREIGN KEY ("{column}") '
                   f'REFERENCES "{target}" (id) ON DELETE CASCADE')


def _swap(t: Partitioned, new: str) -> None:
    """Move the id sequence to ``new``, drop the old table, give ``new`` its name."""
    sequence = _rows("SELECT pg_get_serial_sequence(:t, 'id')", t=t.table)[0][0]
    op.execute(f'ALTER SEQUENCE {sequence} OWNED BY "{new}".id')
    op.execute(f'DROP TABLE "{t.table}"')
    op.execute(f'ALTER TABLE "{new}" RENAME TO "{t.table}"')


def _triggers(t: Partitioned) -> None:
    identity = ["id"] + ([t.unique] if t.unique else [])
    changed = " OR ".join(f'OLD."{c}" IS DISTINCT FROM NEW."{c}"' for c in identity)
    op.execute(f"""CREATE FUNCTION govhub_{t.table}_identity_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION '{t.table}: {", ".join(identity)} never change (the key table holds them)'
                USING ERRCODE = 'check_violation';
        END $$""")
    op.execute(f'CREATE TRIGGER {t.table}_identity_fixed BEFORE UPDATE ON "{t.table}" FOR EACH ROW '
               f"WHEN ({changed}) EXECUTE FUNCTION govhub_{t.table}_identity_fixed()")
    if not t.keys_table:
        return
    keys, u, k = t.keys_table, t.unique, t.key
    insert = f'INSERT INTO "{keys}" (id, "{u}", "{k}") VALUES (NEW.id, NEW."{u}", NEW."{k}")'
    # An UPDATE of the partition key into another month moves the row: PostgreSQL deletes it from
    # its partition and inserts it into the other, firing this trigger for the same id again.
    if t.skip_duplicates:
        body = (f'{insert} ON CONFLICT ("{u}") DO NOTHING; IF NOT FOUND THEN '
                f'UPDATE "{keys}" SET "{k}" = NEW."{k}" WHERE id = NEW.id AND "{u}" = NEW."{u}"; '
                "IF NOT FOUND THEN RETURN NULL; END IF; END IF;")  # a used key: skipped
    else:
        body = (f'{insert} ON CONFLICT (id) DO UPDATE SET "{k}" = EXCLUDED."{k}" '
                f'WHERE "{keys}"."{u}" = EXCLUDED."{u}"; IF NOT FOUND THEN '
                f"RAISE EXCEPTION '{t.table}: id % is taken', NEW.id USING ERRCODE = 'unique_violation'; END IF;")
    op.execute(f"""CREATE FUNCTION govhub_{keys}_insert() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN {body} RETURN NEW; END $$""")
    op.execute(f'CREATE TRIGGER {keys}_insert BEFORE INSERT ON "{t.table}" FOR EACH ROW '
               f"EXECUTE FUNCTION govhub_{keys}_insert()")
    # a new partition key within the same month: no insert, the key row follows it here
    op.execute(f"""CREATE FUNCTION govhub_{keys}_follow() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN UPDATE "{keys}" SET "{k}" = NEW."{k}" WHERE id = NEW.id; RETURN NULL; END $$""")
    op.execute(f'CREATE TRIGGER {keys}_follow AFTER UPDATE ON "{t.table}" FOR EACH ROW '
               f'WHEN (OLD."{k}" IS DISTINCT FROM NEW."{k}") EXECUTE FUNCTION govhub_{keys}_follow()')
    # TRUNCATE skips row triggers: empty the key table with it (the test harness truncates)
    op.execute(f"""CREATE FUNCTION govhub_{keys}_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN DELETE FROM "{keys}"; RETURN NULL; END $$""")
    op.execute(f'CREATE TRIGGER {keys}_truncate AFTER TRUNCATE ON "{t.table}" FOR EACH STATEMENT '
               f"EXECUTE FUNCTION govhub_{keys}_truncate()")


def _drop_triggers(t: Partitioned) -> None:
    op.execute(f"DROP FUNCTION IF EXISTS govhub_{t.table}_identity_fixed() CASCADE")
    if t.keys_table:
        op.execute(f"DROP FUNCTION IF EXISTS govhub_{t.keys_table}_insert() CASCADE")
        op.execute(f"DROP FUNCTION IF EXISTS govhub_{t.keys_table}_follow() CASCADE")
        op.execute(f"DROP FUNCTION IF EXISTS govhub_{t.keys_table}_truncate() CASCADE")


def _partition(t: Partitioned) -> None:
    indexes = _plain_indexes(t.table)
    uniques = [(name, definition) for name, definition in _constraints(t.table, "u")
               if definition != f"UNIQUE ({t.unique})"]
    _drop_child_keys(t)
    new = f"{t.table}__partitioned"
    op.execute(f'CREATE TABLE "{new}" (LIKE "{t.table}" INCLUDING DEFAULTS) PARTITION BY RANGE ("{t.key}")')
    for month in _months(t, t.table):
        op.execute(f'CREATE TABLE "{t.table}_y{month[0]:04d}m{month[1]:02d}" PARTITION OF "{new}" '
                   f"FOR VALUES FROM ({_bound(month)}) TO ({_bound(_next(month))})")
    op.execute(f'CREATE TABLE "{t.table}_default" PARTITION OF "{new}" DEFAULT')
    op.execute(f'INSERT INTO "{new}" SELECT * FROM "{t.table}"')
    _swap(t, new)
    op.execute(f'ALTER TABLE "{t.table}" ADD CONSTRAINT "{t.table}_pkey" PRIMARY KEY (id, "{t.key}")')
    for name, definition in uniques:
        op.execute(f'ALTER TABLE "{t.table}" ADD CONSTRAINT "{name}" {definition}')
    for statement in indexes:
        op.execute(statement)
    if t.keys_table:
        op.execute(f'CREATE TABLE "{t.keys_table}" (id BIGINT PRIMARY KEY, '
                   f'"{t.unique}" VARCHAR({t.width}) NOT NULL UNIQUE, "{t.key}" TIMESTAMPTZ NOT NULL)')
        op.execute(f'INSERT INTO "{t.keys_table}" (id, "{t.unique}", "{t.key}") '
                   f'SELECT id, "{t.unique}", "{t.key}" FROM "{t.table}"')
        # lookups by the once-unique column, now per partition
        op.execute(f'CREATE INDEX "idx_{t.table}_{t.unique}" ON "{t.table}" ("{t.unique}")')
        _add_child_keys(t, t.keys_table)
    _triggers(t)


def _unpartition(t: Partitioned) -> None:
    _drop_triggers(t)
    indexes = _plain_indexes(t.table, skip=(f"idx_{t.table}_{t.unique}",))
    uniques = _constraints(t.table, "u")
    _drop_child_keys(t)
    new = f"{t.table}__plain"
    op.execute(f'CREATE TABLE "{new}" (LIKE "{t.table}" INCLUDING DEFAULTS)')
    op.execute(f'INSERT INTO "{new}" SELECT * FROM "{t.table}"')
    _swap(t, new)
    op.execute(f'ALTER TABLE "{t.table}" ADD CONSTRAINT "{t.table}_pkey" PRIMARY KEY (id)')
    if t.unique:
        op.execute(f'ALTER TABLE "{t.table}" ADD CONSTRAINT "{t.table}_{t.unique}_key" UNIQUE ("{t.unique}")')
    for name, definition in uniques:
        op.execute(f'ALTER TABLE "{t.table}" ADD CONSTRAINT "{name}" {definition}')
    for statement in indexes:
        op.execute(statement)
    if t.keys_table:
        _add_child_keys(t, t.table)
        op.execute(f'DROP TABLE "{t.keys_table}"')


def upgrade() -> None:
    if not _postgres():
        return  # SQLite: plain tables, the same behaviour
    for t in TABLES:
        _partition(t)


def downgrade() -> None:
    if not _postgres():
        return
    for t in reversed(TABLES):
        _unpartition(t)
