"""Write a synthetic national catalog: JSONL for ``govhub catalog import``, or straight into PostgreSQL.

    python -m bench.generate_catalog --count 100000 --out var/catalog-100k.jsonl
    python -m bench.generate_catalog --load postgres://postgres@127.0.0.1:5432/govhub_bench --replace

``--load`` migrates the database, then COPYs matters and their ``matter_search`` rows (the same
documents ``CatalogService`` writes) in chunks built by a process pool; secondary indexes are
dropped during the load and rebuilt after it, which is several times faster than maintaining them.
"""
from __future__ import annotations

import argparse
import asyncio
import io
import json
import multiprocessing
import os
import sys
import time
from pathlib import Path

from bench.synthetic_catalog import (
    MATTER_COLUMNS,
    SEARCH_COLUMNS,
    Generator,
    catalog_rows,
    matter_row,
    search_row,
)
from domain.catalog import rules

CHUNK = 20_000
_gen: Generator | None = None


def _worker_init(seed: int) -> None:
    global _gen
    _gen = Generator(seed)


def _jsonl_chunk(span: tuple[int, int]) -> bytes:
    lines = []
    for i in range(*span):
        record = _gen.record(i)
        del record["content_hash"]
        lines.append(json.dumps(record, ensure_ascii=False, separators=(",", ":")))
    return ("\n".join(lines) + "\n").encode()


def _copy_chunk(span: tuple[int, int]) -> tuple[bytes, bytes]:
    matters, search = [], []
    for i in range(*span):
        record = _gen.record(i)
        matters.append(matter_row(_gen, i + 1, record))  # ids from 1, like the sequence
        search.append(search_row(_gen, i + 1, record))
    return "".join(matters).encode(), "".join(search).encode()


def check_sample(seed: int, count: int = 200) -> None:
    """The shortcut is only valid if records are exactly what rules.normalize makes of them."""
    gen = Generator(seed)
    for i in range(0, count * 997, 997):
        record = gen.record(i)
        given = {k: v for k, v in record.items() if k != "content_hash"}
        if rules.normalize(given) != record:
            raise SystemExit(f"generator drifted from rules.normalize at row {i}")


def _spans(count: int) -> list[tuple[int, int]]:
    return [(start, min(start + CHUNK, count)) for start in range(0, count, CHUNK)]


def _pool(args) -> multiprocessing.pool.Pool:
    return multiprocessing.get_context("fork").Pool(args.workers, _worker_init, (args.seed,))


def write_jsonl(args) -> None:
    started = time.perf_counter()
    with _pool(args) as pool, open(args.out, "wb") as out:
        for done, chunk in enumerate(pool.imap(_jsonl_chunk, _spans(args.count)), start=1):
            out.write(chunk)
            _progress(done * CHUNK, args.count, started)
    print(f"\nwrote {args.count:,} matters to {args.out} in {time.perf_counter() - started:.0f} s")


async def load_postgres(args) -> None:
    import asyncpg

    conn = await asyncpg.connect(args.load.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute("SET synchronous_commit = off")
        if args.replace:
            await conn.execute("TRUNCATE matter_search, matters, catalog_items RESTART IDENTITY")
        elif await conn.fetchval("SELECT count(*) FROM matters"):
            raise SystemExit("matters is not empty: pass --replace to start over")
        indexes = await _drop_secondary_indexes(conn)
        try:
            timings = {"copy": await _copy_all(conn, args)}
        finally:  # a failed load must not leave the schema without its indexes
            started = time.perf_counter()
            await _rebuild_indexes(conn, indexes, args.maintenance_work_mem)
        timings["indexes"] = time.perf_counter() - started
        await conn.execute("SELECT setval(pg_get_serial_sequence('matters', 'id'), (SELECT max(id) FROM matters))")
        started = time.perf_counter()
        await conn.execute("VACUUM ANALYZE matters")
        await conn.execute("VACUUM ANALYZE matter_search")
        timings["analyze"] = time.perf_counter() - started
        print(json.dumps({k: round(v, 1) for k, v in timings.items()}))
    finally:
        await conn.close()


async def _drop_secondary_indexes(conn) -> list[tuple[str, str]]:
    """Indexes that back no constraint (the GIN index above all), to rebuild after the load."""
    rows = await conn.fetch(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('matters', 'matter_search') "
        "AND indexname NOT IN (SELECT conname FROM pg_constraint)")
    for row in rows:
        await conn.execute(f'DROP INDEX "{row["indexname"]}"')
    return [(row["indexname"], row["indexdef"]) for row in rows]


async def _rebuild_indexes(conn, indexes: list[tuple[str, str]], memory: str) -> None:
    await conn.execute(f"SET maintenance_work_mem = '{memory}'")
    for name, definition in indexes:
        await conn.execute(definition)
        print(f"  rebuilt {name}", flush=True)


async def _copy_all(conn, args) -> float:
    started = time.perf_counter()
    await conn.copy_records_to_table("catalog_items", records=catalog_rows(Generator(args.seed)))
    with _pool(args) as pool:
        for done, (matters, search) in enumerate(pool.imap(_copy_chunk, _spans(args.count)), start=1):
            async with conn.transaction():
                await conn.copy_to_table("matters", source=io.BytesIO(matters), columns=list(MATTER_COLUMNS))
                await conn.copy_to_table("matter_search", source=io.BytesIO(search), columns=list(SEARCH_COLUMNS))
            _progress(done * CHUNK, args.count, started)
    print()
    return time.perf_counter() - started


def _progress(done: int, total: int, started: float) -> None:
    done = min(done, total)
    rate = done / max(time.perf_counter() - started, 1e-9)
    print(f"\r  {done:,}/{total:,} matters  {rate:,.0f}/s  eta {(total - done) / rate:,.0f} s   ",
          end="", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=3_600_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, help="JSONL file to write")
    target.add_argument("--load", help="PostgreSQL URL to COPY into (migrated first)")
    parser.add_argument("--replace", action="store_true", help="empty the catalog tables first")
    parser.add_argument("--maintenance-work-mem", default="1GB", help="for the index rebuild")
    args = parser.parse_args(argv)
    check_sample(args.seed)
    if args.out:
        write_jsonl(args)
    else:
        from bff import database

        database.migrate(args.load)  # synchronous: Alembic runs its own event loop
        asyncio.run(load_postgres(args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
