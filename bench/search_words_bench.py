"""What search words cost a search: the same workloads timed with the dictionary empty and with the
seed's 52 words, on PostgreSQL (bench/search_bench.py's machinery; target p95 ≤ 30 ms).

    python -m bench.search_words_bench load --database-url URL --count 100000   # a generated catalog
    python -m bench.search_words_bench run --database-url URL [--queries 300]
    python -m bench.search_words_bench explain 社保 --database-url URL      # plans, without and with words

Two workloads, each with a county filter: ``plain`` is search_bench's (2-, 3- and 4-character
substrings of the catalog's names: mostly no term, so the SQL is unchanged and the cost is reading
the dictionary and expanding the query); ``terms`` is what the words are for: substrings of names
that hold an expansion (社会保险缴费…), typed with the term instead (社保缴费…), so a search with words
ORs two or more phrases per step. ``empty`` counts pages with no hit: what the words recover.
"""
from __future__ import annotations

import argparse
import asyncio
import random
import re
import time

from bench import search_bench
from bench.catalog_vocabulary import catalog_names
from bench.servers import DEFAULT_DATABASE, ROOT, table, write_results
from bench.synthetic_catalog import counties


def load(database_url: str, count: int) -> None:
    """bench.generate_catalog's COPY load. Its generator predates ``matters.entry`` (migration 0016),
    which its own check then reports as drift: records get the entry ``rules.normalize`` gives them."""
    from bench import generate_catalog
    from bench.synthetic_catalog import Generator

    record = Generator.record
    Generator.record = lambda self, i: {**record(self, i), "entry": "application"}
    generate_catalog.main(["--count", str(count), "--load", database_url, "--replace", "--workers", "1",
                           "--maintenance-work-mem", "256MB"])


def term_queries(count: int, seed: int) -> list[tuple[str, str]]:
    """Substrings (4–6 characters) of names holding an expansion of a two-way seed word, with the
    expansion typed as the term: what a citizen who says 社保 types."""
    import json

    from domain.catalog.search_words import SEED_FILE

    back = {}
    for item in json.loads(SEED_FILE.read_text(encoding="utf-8")):
        if item.get("two_way", True):
            back |= {expansion: item["term"] for expansion in item["expansions"] if item["term"] not in expansion}
    pool = set()
    for entry in catalog_names():
        for run in re.split(r"[^\u4e00-\u9fff]+", entry.name):
            for expansion, term in back.items():
                at = run.find(expansion)
                if at >= 0:
                    typed = run[:at] + term + run[at + len(expansion):]
                    start = max(0, at - 1)
                    for length in (4, 5, 6):
                        if len(typed) - start >= length:
                            pool.add(typed[start:start + length])
                    pool.add(term)
    pool, regions, rnd = sorted(pool), counties(), random.Random(seed)
    return [(rnd.choice(pool), rnd.choice(regions)) for _ in range(count)]


async def set_words(database_url: str, seeded: bool) -> int:
    """Empty the dictionary, or fill it with the seed's words (through the service: audited)."""
    from bff import database
    from domain.catalog.models import SearchWord
    from domain.catalog.search_words import SearchWordService, seed_search_words
    from domain.shared.clock import Clock

    await database.connect(database_url)
    try:
        await SearchWord.all().delete()
        if seeded:
            await seed_search_words(SearchWordService(clock=Clock()))
        return await SearchWord.all().count()
    finally:
        await database.disconnect()


def run(database_url: str, queries: int, seed: int) -> list[dict]:
    workloads = {"plain": {length: search_bench.queries(length, queries, seed) for length in search_bench.LENGTHS},
                 "terms": {2: term_queries(queries, seed)}}  # key 2: service_latencies warms up with it
    results = []
    for seeded in (False, True):
        words = asyncio.run(set_words(database_url, seeded))
        for name, workload in workloads.items():
            for row in asyncio.run(search_bench.service_latencies(database_url, workload)):
                results.append({**row, "workload": name, "words": words,
                                **({"length": "2-6"} if name == "terms" else {})})
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("load", "run", "explain"))
    parser.add_argument("q", nargs="?", default="社保")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--count", type=int, default=100_000, help="matters to load")
    parser.add_argument("--queries", type=int, default=300, help="per workload and length")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--region", default="330106000000", help="region of explain")
    args = parser.parse_args(argv)
    if args.command == "load":
        load(args.database_url, args.count)
        return 0
    if args.command == "explain":
        for seeded in (False, True):
            words = asyncio.run(set_words(args.database_url, seeded))
            print(f"===== {args.q} with {words} search words =====")
            started = time.perf_counter()
            print(asyncio.run(search_bench.explain(args.database_url, args.q, args.region)))
            print(f"(explained in {(time.perf_counter() - started) * 1000:.0f} ms)\n")
        return 0
    results = run(args.database_url, args.queries, args.seed)
    print(table(["workload", "words", "chars", "n", "p50 ms", "p95 ms", "p99 ms", "mean ms", "max ms", "empty"],
                [[r["workload"], r["words"], r["length"], r["n"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
                  r["mean_ms"], r["max_ms"], r["empty_pages"]] for r in results]))
    worst = max(r["p95_ms"] for r in results)
    print(f"worst p95 {worst:.1f} ms (target <= {search_bench.TARGET_P95_MS:.0f} ms): "
          f"{'met' if worst <= search_bench.TARGET_P95_MS else 'MISSED'}")
    path = write_results("search_words", {"database_url": args.database_url.rsplit("@", 1)[-1], "results": results,
                                          "target_p95_ms": search_bench.TARGET_P95_MS,
                                          "queries_per_length": args.queries})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
