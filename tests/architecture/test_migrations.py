"""Alembic owns the schema: one head, and the migrated schema equals what the models declare.

On PostgreSQL the tables that grow without end are partitioned by month (migration 0024,
docs/partitions.md): their primary key carries the partition key, what was unique across the
table lives in a key table that the foreign keys point at. The drift check derives that shape
from the models and ``domain.partitions.service.PARTITIONED`` and compares it exactly."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine
from sqlalchemy.ext.asyncio import create_async_engine

from bff import database
from domain.partitions import rules as partition_rules
from domain.partitions.service import PARTITIONED
from tests.conftest import _admin_execute, _is_postgres
from tests.support.schema import describe


def test_single_alembic_head():
    heads = ScriptDirectory.from_config(database.alembic_config("sqlite:///unused")).get_heads()
    assert len(heads) == 1, f"several heads: {heads}; merge them"


def _generate_from_models(url: str) -> None:
    subprocess.run([sys.executable, "-m", "tests.support.schema", url], check=True,
                   cwd=database.ROOT, timeout=120)


def _describe(url: str) -> dict:
    if url.startswith("sqlite://"):
        engine = create_engine(database.sqlalchemy_url(url, sync=True))
        with engine.connect() as conn:
            result = describe(conn)
        engine.dispose()
        return result

    async def run():
        engine = create_async_engine(database.sqlalchemy_url(url))
        async with engine.connect() as conn:
            result = await conn.run_sync(describe)
        await engine.dispose()
        return result

    return asyncio.run(run())


def _assert_same(from_models: dict, migrated: dict) -> None:
    assert sorted(from_models) == sorted(migrated), "tables differ"
    for table in from_models:
        for aspect in ("columns", "primary_key", "foreign_keys", "unique", "indexes"):
            assert from_models[table][aspect] == migrated[table][aspect], f"{table}.{aspect} drifted"


def test_models_and_migrations_agree_on_sqlite(tmp_path):
    models_url = f"sqlite://{tmp_path / 'models.sqlite3'}"
    migrated_url = f"sqlite://{tmp_path / 'migrated.sqlite3'}"
    _generate_from_models(models_url)
    database.migrate(migrated_url)
    _assert_same(_describe(models_url), _describe(migrated_url))


# --- every foreign key indexed ----------------------------------------------------------------

# PostgreSQL indexes the referenced side of a foreign key only. Without an index leading with the
# referencing column, a lookup by the parent (a person's channel accounts, on every login) and the
# check behind every delete of a parent read the whole table (migration 0029).
UNINDEXED_ON_PURPOSE = {
    # people are never deleted (every key to them is RESTRICT) and nothing asks who merged into whom
    ("people", ("merged_into_id",)): "followed from the merged record to its survivor only (people.survivor)",
}


def unindexed_foreign_keys(schema: dict) -> set[tuple[str, tuple[str, ...]]]:
    """(table, columns) of each foreign key that no key or index leads with."""
    found = set()
    for table, shape in schema.items():
        leading = [shape["primary_key"], *shape["unique"], *shape["indexes"]]
        for columns, *_ in shape["foreign_keys"]:
            if not any(tuple(index[:len(columns)]) == columns for index in leading):
                found.add((table, columns))
    return found


def test_every_foreign_key_has_an_index_that_leads_with_it(tmp_path):
    migrated_url = f"sqlite://{tmp_path / 'migrated.sqlite3'}"
    database.migrate(migrated_url)
    assert unindexed_foreign_keys(_describe(migrated_url)) == set(UNINDEXED_ON_PURPOSE)


def test_the_foreign_key_check_sees_a_bare_key_and_one_an_index_covers_only_behind_another_column():
    accounts = {"primary_key": ("id",), "unique": {("channel", "person_id")}, "indexes": set(),
                "foreign_keys": {(("person_id",), "people", ("id",), "RESTRICT")}}
    assert unindexed_foreign_keys({"accounts": accounts}) == {("accounts", ("person_id",))}
    accounts["indexes"] = {("person_id", "channel")}
    assert unindexed_foreign_keys({"accounts": accounts}) == set()


@pytest.mark.skipif(not _is_postgres(os.environ.get("GOVHUB_DATABASE_URL", "")),
                    reason="PostgreSQL drift runs when GOVHUB_DATABASE_URL names PostgreSQL (.ci/run)")
def test_models_and_migrations_agree_on_postgres():
    given = os.environ["GOVHUB_DATABASE_URL"]
    names = [f"govhub_drift_{uuid.uuid4().hex[:8]}" for _ in range(2)]
    urls = [given.rsplit("/", 1)[0] + "/" + n for n in names]
    for name in names:
        asyncio.run(_admin_execute(given, f'CREATE DATABASE "{name}"'))
    try:
        _generate_from_models(urls[0])
        database.migrate(urls[1])
        migrated = _describe(urls[1])
        _assert_same(_partitioned(_describe(urls[0])), _without_partitions(migrated))
        keyed = asyncio.run(_partition_keys(urls[1]))
        assert keyed == {t.table: t.key for t in PARTITIONED}, "the partitioned tables or their keys differ"
    finally:
        for name in names:
            asyncio.run(_admin_execute(given, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _partitioned(from_models: dict) -> dict:
    """The models' schema as migration 0024 shapes it on PostgreSQL."""
    expected = {table: {aspect: set(v) if isinstance(v, set) else v for aspect, v in shape.items()}
                for table, shape in from_models.items()}
    for t in PARTITIONED:
        shape = expected[t.table]
        assert t.key not in shape["primary_key"] and shape["columns"][t.key][1] is False, t.table
        shape["primary_key"] = shape["primary_key"] + (t.key,)
        if not t.keys_table:
            continue
        shape["unique"].remove((t.unique,))
        shape["indexes"].add((t.unique,))  # lookups by it, per partition
        columns = shape["columns"]
        expected[t.keys_table] = {
            "columns": {c: columns[c] for c in ("id", t.unique, t.key)}, "primary_key": ("id",),
            "foreign_keys": set(), "unique": {(t.unique,)}, "indexes": set()}
        for other in expected.values():  # whoever pointed at the table points at its key table
            other["foreign_keys"] = {(cols, t.keys_table if referred == t.table else referred, to, on_delete)
                                     for cols, referred, to, on_delete in other["foreign_keys"]}
    return expected


def _without_partitions(migrated: dict) -> dict:
    """The partitioned tables without their partitions, each of which has its parent's shape."""
    kept = {}
    for table, shape in migrated.items():
        parent = next((t.table for t in PARTITIONED if partition_rules.month_of_partition(t.table, table)
                       or table == partition_rules.default_partition_name(t.table)), None)
        if parent is None:
            kept[table] = shape
        else:
            assert {k: v for k, v in shape.items()} == migrated[parent], f"partition {table} differs from {parent}"
    return kept


async def _partition_keys(url: str) -> dict:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        rows = await conn.fetch("SELECT p.partrelid::regclass::text AS t, a.attname AS key FROM pg_partitioned_table p "
                                "JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]")
    finally:
        await conn.close()
    return {r["t"]: r["key"] for r in rows}


def test_partitioned_shape_is_derived_not_assumed():
    """The teaching above changes only the partitioned tables and who points at them."""
    plain = {"applications": {"columns": {"id": ("BIGINT", False), "number": ("VARCHAR(32)", False),
                                          "submitted_at": ("TIMESTAMP", False)},
                              "primary_key": ("id",), "foreign_keys": set(), "unique": {("number",)}, "indexes": set()},
             "deliveries": {"columns": {"id": ("BIGINT", False), "dedupe_key": ("VARCHAR(200)", False),
                                        "created_at": ("TIMESTAMP", False)},
                            "primary_key": ("id",), "foreign_keys": set(), "unique": {("dedupe_key",)}, "indexes": set()},
             "notifications": {"columns": {"id": ("BIGINT", False), "at": ("TIMESTAMP", False)},
                               "primary_key": ("id",), "foreign_keys": set(), "unique": set(), "indexes": set()},
             "application_transitions": {"columns": {}, "primary_key": ("id",), "unique": set(), "indexes": set(),
                                         "foreign_keys": {(("application_id",), "applications", ("id",), "CASCADE")}},
             "nodes": {"columns": {}, "primary_key": ("code",), "foreign_keys": set(), "unique": set(), "indexes": set()}}
    shaped = _partitioned(plain)
    assert shaped["applications"]["primary_key"] == ("id", "submitted_at")
    assert shaped["applications"]["unique"] == set() and shaped["applications"]["indexes"] == {("number",)}
    assert shaped["application_keys"]["unique"] == {("number",)}
    assert shaped["application_transitions"]["foreign_keys"] == {
        (("application_id",), "application_keys", ("id",), "CASCADE")}
    assert shaped["notifications"]["primary_key"] == ("id", "at") and "notification_keys" not in shaped
    assert shaped["nodes"] == plain["nodes"]
    with pytest.raises(AssertionError):  # a migration that left a unique number on the partitioned table
        broken = _partitioned(plain)
        broken["applications"]["unique"].add(("number",))
        _assert_same(shaped, broken)


def test_drift_check_catches_a_difference(tmp_path):
    """The comparison must be able to fail: drop an index from a migrated copy."""
    url = f"sqlite://{tmp_path / 'a.sqlite3'}"
    database.migrate(url)
    before = _describe(url)
    import sqlite3

    conn = sqlite3.connect(database.sqlite_path(url))
    conn.execute("ALTER TABLE nodes ADD COLUMN extra TEXT")
    conn.commit()
    conn.close()
    with pytest.raises(AssertionError):
        _assert_same(before, _describe(url))
