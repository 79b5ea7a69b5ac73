"""Build a database from the Tortoise models (drift test only) and describe any schema.

Run as ``python -m tests.support.schema URL`` so Tortoise's global state in the test process is
left alone. ``generate_schemas`` is used nowhere else: Alembic owns the schema.
"""
from __future__ import annotations

import asyncio
import sys

from sqlalchemy import inspect


def _affinity(declared: str) -> str:
    """SQLite's type affinity: the only thing SQLite itself distinguishes."""
    t = declared.upper()
    if "INT" in t:
        return "INTEGER"
    if any(s in t for s in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in t or not t:
        return "BLOB"
    if any(s in t for s in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


# Search structures the ORM cannot express (a tsvector table, an FTS5 virtual table and its shadow
# tables): owned by migration 0004 alone and tested by the search tests instead.
SEARCH_TABLES = {"matter_search"}


def _is_search_table(name: str) -> bool:
    return name in SEARCH_TABLES or any(name.startswith(t + "_") for t in SEARCH_TABLES)


def describe(sync_conn) -> dict:
    """Tables with columns (type, nullable), primary key, foreign keys, unique sets and indexes."""
    if sync_conn.dialect.name == "sqlite":
        return _describe_sqlite(sync_conn)
    insp = inspect(sync_conn)
    dialect = sync_conn.dialect
    schema = {}
    for table in sorted(t for t in insp.get_table_names() if t != "alembic_version" and not _is_search_table(t)):
        columns = {}
        for col in insp.get_columns(table):
            declared = col["type"].compile(dialect=dialect)
            kind = _affinity(declared) if dialect.name == "sqlite" else declared
            columns[col["name"]] = (kind, bool(col["nullable"]))
        uniques = {tuple(u["column_names"]) for u in insp.get_unique_constraints(table)}
        indexes = set()
        for ix in insp.get_indexes(table):
            cols = tuple(ix["column_names"])
            (uniques if ix["unique"] else indexes).add(cols)
        fks = {(tuple(fk["constrained_columns"]), fk["referred_table"], tuple(fk["referred_columns"]),
                (fk.get("options") or {}).get("ondelete", "").upper() or "NO ACTION")
               for fk in insp.get_foreign_keys(table)}
        schema[table] = {
            "columns": columns,
            "primary_key": tuple(insp.get_pk_constraint(table)["constrained_columns"]),
            "foreign_keys": fks,
            "unique": uniques,
            "indexes": indexes,
        }
    return schema


def _describe_sqlite(conn) -> dict:
    """SQLite's own PRAGMAs: SQLAlchemy's reflection misses inline UNIQUE and ON DELETE clauses."""
    def rows(sql):
        return conn.exec_driver_sql(sql).fetchall()

    schema = {}
    tables = [r[0] for r in rows("SELECT name FROM sqlite_master WHERE type='table' "
                                 "AND name NOT LIKE 'sqlite_%' AND name != 'alembic_version'")]
    for table in sorted(t for t in tables if not _is_search_table(t)):
        info = rows(f'PRAGMA table_info("{table}")')  # cid, name, type, notnull, default, pk
        columns = {r[1]: (_affinity(r[2]), not r[3] and not r[5]) for r in info}
        primary_key = tuple(r[1] for r in sorted((r for r in info if r[5]), key=lambda r: r[5]))
        fks = {((r[3],), r[2], (r[4],), r[6].upper()) for r in rows(f'PRAGMA foreign_key_list("{table}")')}
        uniques, indexes = set(), set()
        for _, name, unique, origin, _partial in rows(f'PRAGMA index_list("{table}")'):
            if origin == "pk":
                continue
            cols = tuple(r[2] for r in rows(f'PRAGMA index_info("{name}")'))
            (uniques if unique else indexes).add(cols)
        schema[table] = {"columns": columns, "primary_key": primary_key, "foreign_keys": fks,
                         "unique": uniques, "indexes": indexes}
    return schema


async def _generate(url: str) -> None:
    from tortoise import Tortoise

    from bff.database import tortoise_config

    await Tortoise.init(config=tortoise_config(url))
    await Tortoise.generate_schemas(safe=False)
    await Tortoise.close_connections()


if __name__ == "__main__":
    asyncio.run(_generate(sys.argv[1]))
