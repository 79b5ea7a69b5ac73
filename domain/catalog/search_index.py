"""The search index table, written and queried with each database's own full-text engine.

Raw SQL on purpose: the ORM knows neither tsvector nor FTS5. Everything else the catalog stores
goes through the models.
"""
from __future__ import annotations

from dataclasses import dataclass

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient

from domain.catalog import search_rules as sr


def _conn() -> BaseDBAsyncClient:
    return Tortoise.get_connection("default")


def _is_postgres(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "postgres"


async def write(entries: list[tuple[int, sr.Document]], conn: BaseDBAsyncClient | None = None) -> None:
    """Replace the index rows of these matters (call in the transaction that wrote them)."""
    if not entries:
        return
    conn = conn or _conn()
    ids = [matter_id for matter_id, _ in entries]
    if _is_postgres(conn):
        await conn.execute_many(
            "INSERT INTO matter_search (matter_id, document) VALUES ($1, $2::tsvector) "
            "ON CONFLICT (matter_id) DO UPDATE SET document = excluded.document",
            [[matter_id, sr.tsvector_literal(doc)] for matter_id, doc in entries])
        return
    await conn.execute_query(f"DELETE FROM matter_search WHERE rowid IN ({','.join('?' * len(ids))})", ids)
    await conn.execute_many(
        "INSERT INTO matter_search (rowid, name_grams, initial_grams, pinyin_grams, facets) VALUES (?, ?, ?, ?, ?)",
        [[matter_id, " ".join(doc.name_grams), " ".join(doc.initial_grams), " ".join(doc.pinyin_grams),
          " ".join(doc.facets)] for matter_id, doc in entries])


async def delete(matter_ids: list[int], conn: BaseDBAsyncClient | None = None) -> None:
    if not matter_ids:
        return
    conn = conn or _conn()
    if _is_postgres(conn):
        await conn.execute_query("DELETE FROM matter_search WHERE matter_id = ANY($1::bigint[])", [matter_ids])
    else:
        await conn.execute_query(f"DELETE FROM matter_search WHERE rowid IN ({','.join('?' * len(matter_ids))})",
                                 matter_ids)


@dataclass(frozen=True)
class Cursor:
    quality: int
    popularity: int
    id: int


@dataclass(frozen=True)
class Hit:
    id: int
    quality: int
    popularity: int


class _Sql:
    """Collects parameters in order and answers each dialect's placeholder for them."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.args: list = []

    def p(self, value) -> str:
        self.args.append(value)
        return f"${len(self.args)}" if self.postgres else "?"


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _quality(sql: _Sql, raw_q: str | None) -> str:
    """0 exact name, 1 name starts with q, 2 name contains q, 3 matched through pinyin or spacing."""
    if raw_q is None:
        return "0"
    needle = _like_escape(raw_q)
    return (f"(CASE WHEN m.name = {sql.p(raw_q)} THEN 0 WHEN m.name LIKE {sql.p(needle + '%')} ESCAPE '\\' THEN 1 "
            f"WHEN m.name LIKE {sql.p('%' + needle + '%')} ESCAPE '\\' THEN 2 ELSE 3 END)")


async def search(*, text: sr.TextQuery | None, facets: sr.FacetQuery, raw_q: str | None, after: Cursor | None,
                 limit: int | None) -> list[Hit]:
    """Matching matter ids, best first: match quality, then popularity, then id — a total order,
    so the last hit is a stable cursor for the next page. ``limit`` None returns every match."""
    conn = _conn()
    sql = _Sql(_is_postgres(conn))
    raw_q = raw_q.strip() if (text is not None and raw_q) else None
    quality = _quality(sql, raw_q)  # first: SQLite's "?" parameters bind in textual order
    if sql.postgres:
        source = "FROM matter_search s JOIN matters m ON m.id = s.matter_id"
        match = f"s.document @@ {sql.p(sr.pg_tsquery(text, facets))}::tsquery"
    else:
        source = "FROM matter_search JOIN matters m ON m.id = matter_search.rowid"
        match = f"matter_search MATCH {sql.p(sr.fts5_query(text, facets))}"
    selected = f"SELECT m.id, {quality} AS quality, m.popularity {source} WHERE {match}"
    where = " AND m.status = 'active'"
    if after is not None:
        where += (f" AND ({_quality(sql, raw_q)} > {sql.p(after.quality)}"
                  f" OR ({_quality(sql, raw_q)} = {sql.p(after.quality)} AND m.popularity < {sql.p(after.popularity)})"
                  f" OR ({_quality(sql, raw_q)} = {sql.p(after.quality)} AND m.popularity = {sql.p(after.popularity)}"
                  f" AND m.id > {sql.p(after.id)}))")
    tail = " ORDER BY quality, m.popularity DESC, m.id" + (f" LIMIT {int(limit)}" if limit is not None else "")
    rows = await conn.execute_query_dict(selected + where + tail, sql.args)
    return [Hit(id=r["id"], quality=r["quality"], popularity=r["popularity"]) for r in rows]
