"""Search latency over the national catalog on PostgreSQL: p50/p95/p99 for 2-, 3- and 4-character
queries drawn from the catalog's names, each with a county region filter.

    python -m bench.generate_catalog --load postgres://postgres@127.0.0.1:5432/govhub_bench   # once
    python -m bench.search_bench [--database-url URL] [--queries 300] [--http] [--explain 社保] [--steps 4]

``CatalogService.search`` is timed in-process (one query at a time); ``--http`` also times
``GET /wx/v1/matters?q=..&region=..`` on a real hub process over the same database. ``--explain Q``
prints PostgreSQL's plan (EXPLAIN ANALYZE, BUFFERS) of each step the service sends; ``--steps N``
times every step of N-character queries and prints the slowest searches and how many steps they
took (docs/catalog.md: a search walks band × tier steps). Target: p95 ≤ 30 ms.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import re
import time

import httpx

from bench.catalog_vocabulary import catalog_names
from bench.servers import DEFAULT_DATABASE, DEFAULT_REDIS, ROOT, hub, percentile, table, write_results
from bench.synthetic_catalog import counties

TARGET_P95_MS = 30.0
LENGTHS = (2, 3, 4)


def queries(length: int, count: int, seed: int) -> list[tuple[str, str]]:
    """(query, county) pairs: substrings of real catalog names, in regions that hold matters."""
    pool = sorted({run[i:i + length] for entry in catalog_names()
                   for run in re.split(r"[^\u4e00-\u9fff]+", entry.name) for i in range(len(run) - length + 1)})
    regions = counties()
    rnd = random.Random(seed * 100 + length)
    return [(rnd.choice(pool), rnd.choice(regions)) for _ in range(count)]


def summary(label: str, length: int, latencies_ms: list[float], hits: list[int]) -> dict:
    ordered = sorted(latencies_ms)
    return {"path": label, "length": length, "n": len(ordered), "p50_ms": percentile(ordered, 0.50),
            "p95_ms": percentile(ordered, 0.95), "p99_ms": percentile(ordered, 0.99),
            "mean_ms": sum(ordered) / len(ordered), "max_ms": ordered[-1],
            "empty_pages": sum(1 for h in hits if h == 0)}


async def service_latencies(database_url: str, workload: dict[int, list[tuple[str, str]]]) -> list[dict]:
    from bff import database
    from domain.catalog.service import CatalogService, SearchFilters
    from domain.shared.clock import Clock

    await database.connect(database_url)
    try:
        catalog = CatalogService(popularity=None, cache=None, clock=Clock())  # search needs neither port
        for q, region in workload[2][:20]:  # warm the connection and the plan cache
            await catalog.search(q=q, filters=SearchFilters(region_code=region))
        results = []
        for length, pairs in workload.items():
            latencies, hits = [], []
            for q, region in pairs:
                started = time.perf_counter()
                page = await catalog.search(q=q, filters=SearchFilters(region_code=region), limit=20)
                latencies.append((time.perf_counter() - started) * 1000)
                hits.append(len(page.items))
            results.append(summary("CatalogService.search", length, latencies, hits))
        return results
    finally:
        await database.disconnect()


def http_latencies(database_url: str, redis_url: str, workload: dict[int, list[tuple[str, str]]]) -> list[dict]:
    results = []
    with hub(database_url, redis_url) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        for q, region in workload[2][:20]:
            client.get("/wx/v1/matters", params={"q": q, "region": region}).raise_for_status()
        for length, pairs in workload.items():
            latencies, hits = [], []
            for q, region in pairs:
                started = time.perf_counter()
                response = client.get("/wx/v1/matters", params={"q": q, "region": region})
                latencies.append((time.perf_counter() - started) * 1000)
                response.raise_for_status()
                hits.append(len(response.json()["items"]))
            results.append(summary("GET /wx/v1/matters", length, latencies, hits))
    return results


async def explain(database_url: str, q: str, region: str) -> str:
    """The plan of the SQL the service sends, captured by wrapping the connection."""
    from tortoise import Tortoise

    from bff import database
    from domain.catalog.service import CatalogService, SearchFilters
    from domain.shared.clock import Clock

    await database.connect(database_url)
    plans: list[str] = []
    try:
        conn = Tortoise.get_connection("default")
        original = conn.execute_query_dict

        async def capture(sql, values=None):
            if "matter_search" not in sql:
                return await original(sql, values)
            rows = await original("EXPLAIN (ANALYZE, BUFFERS) " + sql, values)
            plans.append(sql + "\n" + repr(values) + "\n" + "\n".join(r["QUERY PLAN"] for r in rows))
            return []

        conn.execute_query_dict = capture
        await CatalogService(popularity=None, cache=None, clock=Clock()).search(
            q=q, filters=SearchFilters(region_code=region), limit=20)
    finally:
        await database.disconnect()
    return "\n\n".join(plans)


async def step_profile(database_url: str, pairs: list[tuple[str, str]], limit: int = 20) -> str:
    """Per-step milliseconds of each search, walked as search_index.search walks them."""
    from tortoise import Tortoise

    from bff import database
    from domain.catalog import search_index
    from domain.catalog import search_rules as sr
    from domain.catalog.service import SearchFilters, _facet_query

    await database.connect(database_url)
    try:
        conn, profiles = Tortoise.get_connection("default"), []
        for q, region in pairs:
            text = sr.text_query(q)
            facets = _facet_query(SearchFilters(region_code=region), text)
            steps_ms, found = [], 0
            for number, step in enumerate(sr.steps(text)):
                started = time.perf_counter()
                found += len(await search_index._search_step(conn, number, step, text, facets, None,
                                                             limit + 1 - found))
                steps_ms.append(round((time.perf_counter() - started) * 1000, 1))
                if found > limit:
                    break
            profiles.append((round(sum(steps_ms), 1), q, region, steps_ms))
    finally:
        await database.disconnect()
    profiles.sort(reverse=True)
    used = {n: sum(1 for p in profiles if len(p[3]) == n) for n in range(1, 10) if any(len(p[3]) == n for p in profiles)}
    lines = [f"{total:6.1f} ms  {q}  {region}  steps {steps}" for total, q, region, steps in profiles[:12]]
    return "\n".join(lines + [f"searches by number of steps run: {used}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--queries", type=int, default=300, help="per query length")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--http", action="store_true", help="also time the HTTP route on a real hub process")
    parser.add_argument("--explain", metavar="Q", help="print the plan of one search and stop")
    parser.add_argument("--region", default="330106000000", help="region of --explain")
    parser.add_argument("--steps", type=int, metavar="N", help="profile the steps of N-character queries and stop")
    args = parser.parse_args(argv)
    if args.explain:
        print(asyncio.run(explain(args.database_url, args.explain, args.region)))
        return 0
    if args.steps:
        print(asyncio.run(step_profile(args.database_url, queries(args.steps, args.queries, args.seed))))
        return 0
    workload = {length: queries(length, args.queries, args.seed) for length in LENGTHS}
    results = asyncio.run(service_latencies(args.database_url, workload))
    if args.http:
        results += http_latencies(args.database_url, args.redis_url, workload)
    print(table(["path", "chars", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "max ms", "empty"],
                [[r["path"], r["length"], r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"], r["mean_ms"], r["max_ms"],
                  r["empty_pages"]] for r in results]))
    worst = max(r["p95_ms"] for r in results)
    print(f"worst p95 {worst:.1f} ms (target <= {TARGET_P95_MS:.0f} ms): {'met' if worst <= TARGET_P95_MS else 'MISSED'}")
    path = write_results("search", {"database_url": args.database_url.rsplit("@", 1)[-1], "results": results,
                                    "target_p95_ms": TARGET_P95_MS, "queries_per_length": args.queries})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
