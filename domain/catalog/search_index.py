"""The search index table, written and queried with each database's own full-text engine.

Raw SQL on purpose: the ORM knows neither tsvector nor FTS5. Everything else the catalog stores
goes through the models.
"""
from __future__ import annotations

from dataclasses import dataclass

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.router import router

from domain.catalog import search_rules as sr
from domain.catalog.models import Matter


def _conn() -> BaseDBAsyncClient:
    return Tortoise.get_connection("default")


def _read_conn() -> BaseDBAsyncClient:
    """Where a search reads: wherever Tortoise's routers send reads of the matters (the hub may
    send a public request's reads to a replica), so the index and the rows it names agree."""
    return router.db_for_read(Matter) or _conn()


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
            "INSERT INTO matter_search (matter_id, document, tier, popularity, name_key, channels) "
            "VALUES ($1, $2::tsvector, $3, $4, $5, $6) ON CONFLICT (matter_id) DO UPDATE SET "
            "document = excluded.document, tier = excluded.tier, popularity = excluded.popularity, "
            "name_key = excluded.name_key, channels = excluded.channels",
            [[matter_id, sr.tsvector_literal(doc), doc.tier, doc.popularity, doc.name_key, doc.channels]
             for matter_id, doc in entries])
        return
    await conn.execute_query(f"DELETE FROM matter_search WHERE rowid IN ({','.join('?' * len(ids))})", ids)
    columns = ", ".join(sr.FTS5_COLUMNS)
    await conn.execute_many(
        f"INSERT INTO matter_search (rowid, {columns}) VALUES (?, {', '.join('?' * len(sr.FTS5_COLUMNS))})",
        [[matter_id, *sr.fts5_row(doc)] for matter_id, doc in entries])


async def set_popularity(changes: list[tuple[int, int]], conn: BaseDBAsyncClient | None = None) -> None:
    """New popularity of matters whose tier did not change (a tier change rewrites the document)."""
    if not changes:
        return
    conn = conn or _conn()
    if _is_postgres(conn):
        await conn.execute_many("UPDATE matter_search SET popularity = $2 WHERE matter_id = $1", changes)
    else:
        await conn.execute_many("UPDATE matter_search SET popularity = ? WHERE rowid = ?",
                                [[popularity, matter_id] for matter_id, popularity in changes])


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
    step: int
    quality: int
    popularity: int
    id: int


@dataclass(frozen=True)
class Hit:
    id: int
    step: int
    quality: int
    popularity: int


class _Sql:
    """Collects parameters in order and answers each dialect's placeholder for them."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres
        self.args: list = []

    def p(self, value) -> str:
        self.args.append(value)
        return f"${len(self.args)}" if self.postgres else f"?{len(self.args)}"  # numbered: reusable


async def search(*, text: sr.TextQuery | None, facets: sr.FacetQuery, after: Cursor | None,
                 limit: int | None) -> list[Hit]:
    """Matching matter ids, best first: match quality, then popularity, then id — a total order,
    so the last hit is a stable cursor for the next page. ``limit`` None returns every match.

    Walks sr.steps(text) from the cursor's step on and stops as soon as the page is full: the
    first page of a common word is answered from its hot rows alone."""
    conn = _read_conn()
    hits: list[Hit] = []
    for number, step in enumerate(sr.steps(text)):
        if after is not None and number < after.step:
            continue
        wanted = None if limit is None else limit - len(hits)
        resume = after if after is not None and number == after.step else None
        hits += await _search_step(conn, number, step, text, facets, resume, wanted)
        if limit is not None and len(hits) >= limit:
            break
    return hits


async def _search_step(conn: BaseDBAsyncClient, number: int, step: sr.Step, text: sr.TextQuery | None,
                       facets: sr.FacetQuery, after: Cursor | None, limit: int | None) -> list[Hit]:
    sql = _Sql(_is_postgres(conn))
    t = "s" if sql.postgres else "matter_search"  # FTS5's MATCH wants the table's own name
    if sql.postgres:
        source, matter_id = "matter_search s", "s.matter_id"
        where = f"s.document @@ {sql.p(sr.pg_tsquery(text, facets, step))}::tsquery"
    else:
        source, matter_id = "matter_search", "matter_search.rowid"
        where = f"matter_search MATCH {sql.p(sr.fts5_query(text, facets, step))}"
    quality = _quality(sql, t, step, text)
    if step.tier == sr.COLD:
        where += f" AND {t}.tier = {sr.COLD}"
    if facets.channels:
        where += f" AND ({t}.channels & {int(facets.channels)}) <> 0"
    if after is not None:
        q, pop = sql.p(after.quality), sql.p(after.popularity)
        where += (f" AND ({quality} > {q} OR ({quality} = {q} AND {t}.popularity < {pop})"
                  f" OR ({quality} = {q} AND {t}.popularity = {pop} AND {matter_id} > {sql.p(after.id)}))")
    query = (f"SELECT {matter_id} AS id, {quality} AS quality, {t}.popularity AS popularity FROM {source} "
             f"WHERE {where} ORDER BY quality, {t}.popularity DESC, {matter_id}"
             + (f" LIMIT {int(limit)}" if limit is not None else ""))
    rows = await conn.execute_query_dict(query, sql.args)
    return [Hit(id=r["id"], step=number, quality=r["quality"], popularity=r["popularity"]) for r in rows]


def _quality(sql: _Sql, t: str, step: sr.Step, text: sr.TextQuery | None) -> str:
    """The row's match quality inside its step (search_rules.quality_floor, THROUGH_WORDS), from
    the row's name_key: the name as typed or only through the search words, exact or a prefix."""
    if text is None or step.band not in (sr.STARTS, sr.CONTAINS):
        return str(sr.quality_floor(step))
    if not text.alternatives:
        return (f"(CASE WHEN {t}.name_key = {sql.p(text.normalized)} THEN 0 ELSE 1 END)"
                if step.band == sr.STARTS else str(sr.quality_floor(step)))
    literal, later = sql.p(text.normalized), sr.THROUGH_WORDS
    if step.band == sr.STARTS:
        others = ", ".join(sql.p(word) for word in text.alternatives)
        return (f"(CASE WHEN {t}.name_key = {literal} THEN 0 "
                f"WHEN substr({t}.name_key, 1, {len(text.normalized)}) = {literal} THEN 1 "
                f"WHEN {t}.name_key IN ({others}) THEN {later} ELSE {later + 1} END)")
    holds = f"strpos({t}.name_key, {literal}) > 0" if sql.postgres else f"instr({t}.name_key, {literal}) > 0"
    return f"(CASE WHEN {holds} THEN 2 ELSE {2 + later} END)"
