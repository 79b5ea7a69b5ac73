"""Alembic owns the schema: one head, and the migrated schema equals what the models declare."""
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
        _assert_same(_describe(urls[0]), _describe(urls[1]))
    finally:
        for name in names:
            asyncio.run(_admin_execute(given, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


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
