"""What one active citizen costs in Redis, and what one application costs in PostgreSQL — the
figures docs/scaling.md sizes the seed's platform from.

    python -m bench.footprint [--citizens 500]

Setup: a fresh database ``govhub_footprint_bench`` migrated and seeded, an empty Redis database, the
mock WeChat server and one hub (scheduler off, so nothing expires or moves while we count). Then
``--citizens`` citizens each do what an active citizen does in a visit: log in on WeChat, pass real
name (L2), open the home page, search, open a matter, submit one application. Measured:

- **Redis per active citizen**: ``used_memory`` after minus before, over the citizens; and by key
  family (the key up to its first variable part), from ``MEMORY USAGE`` of every key — what holds
  the memory (sessions, refresh-token families, rate-limit buckets …) and for how long (TTL).
- **Rows and bytes per application**: the row count of every table and ``pg_total_relation_size``
  before and after the submissions, over the applications made (the delivery waits in the outbox:
  the relay is off).
"""
from __future__ import annotations

import argparse
import asyncio
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import asyncpg
import httpx
import redis

from bench.home_bench import seed
from bench.servers import ROOT, recreate_database, table, write_results
from bench.submit_bench import FORM, MATTERS, hub_with, identities, mock_server, verified_tokens

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_footprint_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
REGION = "330106000000"


def key_family(key: str) -> str:
    """``govhub:session:3f2a…`` -> ``govhub:session:*``: the key up to its first variable part."""
    parts = key.split(":")
    kept = []
    for part in parts:
        if re.search(r"\d|[0-9a-f]{12,}|[A-Za-z0-9_-]{20,}", part) and len(kept) > 1:
            kept.append("*")
            break
        kept.append(part)
    return ":".join(kept)


def redis_families(client: redis.Redis) -> dict[str, dict]:
    families: dict[str, dict] = defaultdict(lambda: {"keys": 0, "bytes": 0, "ttl_s": set()})
    for key in client.scan_iter(count=1000):
        name = key.decode() if isinstance(key, bytes) else key
        family = families[key_family(name)]
        family["keys"] += 1
        family["bytes"] += client.memory_usage(key) or 0
        ttl = client.ttl(key)
        family["ttl_s"].add(ttl if ttl >= 0 else None)
    return {name: {**f, "ttl_s": sorted((t for t in f["ttl_s"] if t is not None), reverse=True)[:1] or None}
            for name, f in families.items()}


async def table_sizes(database_url: str) -> dict[str, tuple[int, int]]:
    """(rows, bytes with indexes and TOAST) of every table of the hub's schema."""
    connection = await asyncpg.connect(database_url)
    try:
        names = [r["tablename"] for r in await connection.fetch(
            "SELECT relname AS tablename FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' "
            "ORDER BY relname")]  # ordinary tables and partitions: a partitioned parent holds no rows itself
        out = {}
        for name in names:
            rows = await connection.fetchval(f'SELECT count(*) FROM "{name}"')
            size = await connection.fetchval("SELECT pg_total_relation_size($1::regclass)", f'"{name}"')
            out[name] = (rows, size)
        return out
    finally:
        await connection.close()


async def visit(hub_url: str, tokens: list[str]) -> int:
    """Each citizen's visit after logging in: home, a search, a matter, one submission."""
    async with httpx.AsyncClient(base_url=hub_url, timeout=30) as hub:
        async def one(i: int, token: str) -> bool:
            auth = {"Authorization": f"Bearer {token}"}
            await hub.get("/wx/v1/home", params={"region": REGION}, headers=auth)
            await hub.get("/wx/v1/matters", params={"q": "身份证", "region": REGION}, headers=auth)
            await hub.get(f"/wx/v1/matters/{MATTERS[i % 3]}", headers=auth)
            made = await hub.post("/wx/v1/applications", headers={**auth, "Idempotency-Key": f"footprint-{i}"},
                                  json={"matter_code": MATTERS[i % 3], "form": FORM, "materials": []})
            return made.status_code == 201

        made = 0
        for start in range(0, len(tokens), 20):
            made += sum(await asyncio.gather(*(one(i, t) for i, t in enumerate(tokens[start:start + 20], start))))
        return made


def growth(before: dict, after: dict, per: int) -> dict[str, tuple[float, float]]:
    """(rows, bytes) each table grew by, over ``per`` (citizens or applications); tables that grew only."""
    out = {t: ((after[t][0] - before.get(t, (0, 0))[0]) / per, (after[t][1] - before.get(t, (0, 0))[1]) / per)
           for t in after if per}
    return {t: v for t, v in out.items() if v[0] > 0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--citizens", type=int, default=500)
    args = parser.parse_args(argv)
    cache = redis.Redis.from_url(args.redis_url)
    cache.flushdb()
    recreate_database(args.database_url)
    with tempfile.TemporaryDirectory() as tmp, mock_server() as (mock_url, mock_port):
        people = identities(args.citizens)
        register = Path(tmp) / "register.csv"
        register.write_text("".join(f"{i},{n}\n" for i, n in people), encoding="utf-8")
        env = {"GOVHUB_MOCK_PORT": str(mock_port), "GOVHUB_STUB_REGISTER_FILE": str(register)}
        seed(args.database_url, args.redis_url, extra_env=env)
        with hub_with(args, env) as (hub_url, _):
            httpx.get(f"{hub_url}/wx/v1/home", params={"region": REGION})  # the hub's own warm-up keys
            memory_before, rows_before = cache.info("memory")["used_memory"], asyncio.run(table_sizes(args.database_url))
            families_before = redis_families(cache)
            tokens = asyncio.run(verified_tokens(hub_url, mock_url, people))
            rows_citizens = asyncio.run(table_sizes(args.database_url))
            made = asyncio.run(visit(hub_url, tokens))
            memory_after, rows_after = cache.info("memory")["used_memory"], asyncio.run(table_sizes(args.database_url))
            families_after = redis_families(cache)
    per_citizen = (memory_after - memory_before) / args.citizens
    grown = {f: {"keys": a["keys"] - families_before.get(f, {}).get("keys", 0),
                 "bytes": a["bytes"] - families_before.get(f, {}).get("bytes", 0), "ttl_s": a["ttl_s"]}
             for f, a in families_after.items()}
    grown = {f: g for f, g in grown.items() if g["keys"] > 0}
    print(table(["Redis key family", "keys / citizen", "bytes / citizen", "longest TTL s"],
                [[f, f"{g['keys'] / args.citizens:.2f}", f"{g['bytes'] / args.citizens:,.0f}", g["ttl_s"]]
                 for f, g in sorted(grown.items(), key=lambda kv: -kv[1]["bytes"])]))
    print(f"Redis used_memory per active citizen: {per_citizen:,.0f} bytes ({args.citizens} citizens)")
    per_citizen_rows = growth(rows_before, rows_citizens, args.citizens)
    print(table(["table", "rows / citizen", "bytes / citizen"],
                [[t, f"{r:.2f}", f"{b:,.0f}"] for t, (r, b) in sorted(per_citizen_rows.items(), key=lambda kv: -kv[1][1])]))
    per_application = growth(rows_citizens, rows_after, made)
    print(table(["table", "rows / application", "bytes / application"],
                [[t, f"{r:.2f}", f"{b:,.0f}"] for t, (r, b) in sorted(per_application.items(), key=lambda kv: -kv[1][1])]))
    rows_total = sum(r for r, _ in per_application.values())
    bytes_total = sum(b for _, b in per_application.values())
    print(f"{made} applications: {rows_total:.1f} rows and {bytes_total:,.0f} bytes each (tables with indexes)")
    path = write_results("footprint", {
        "citizens": args.citizens, "applications": made, "redis_bytes_per_citizen": per_citizen,
        "redis_families": grown, "rows_per_application": {t: r for t, (r, _) in per_application.items()},
        "bytes_per_application": {t: b for t, (_, b) in per_application.items()},
        "rows_total": rows_total, "bytes_total": bytes_total,
        "rows_per_citizen": {t: r for t, (r, _) in per_citizen_rows.items()},
        "bytes_per_citizen": {t: b for t, (_, b) in per_citizen_rows.items()}})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
