"""Throughput of two hub instances behind nginx against one, measured in the same run.

    python -m bench.instances_bench [--workers 2] [--seconds 10] [--runs 3] [--connections 64] [--no-search]

The cluster of deploy/instances.py (two ``govhub serve`` instances, each with ``--workers`` Sanic
workers and its scheduler, one PostgreSQL, one Redis) runs once; nginx serves it on two ports:
every instance (``base``), and the first instance alone (``base + 1``). wrk (Debian's package,
one thread) loads each in alternating rounds (bench/home_bench.py's ``rounds``), so both see the
same machine. Routes: the anonymous mini-program home, and a catalog search (``--no-search``
leaves it out). The ratio two/one is reported; there is no target. On a host with fewer cores
than the instances' workers the two instances share the same cores as one, and the figure says
what nginx and a second instance cost or gain there, not what more hosts would give.
"""
from __future__ import annotations

import argparse
import shutil

from bench.home_bench import rounds, seed
from bench.servers import ROOT, table, write_results
from deploy.instances import Cluster, running

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_instances_bench"  # created, migrated and seeded
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
HOME = "/wx/v1/home?region=330106000000"
SEARCH = "/wx/v1/matters?q=%E7%A4%BE%E4%BF%9D&region=330106000000"  # 社保 in 西湖区


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--workers", type=int, default=2, help="Sanic workers per instance")
    parser.add_argument("--nginx-workers", type=int, default=1)
    parser.add_argument("--base-port", type=int, default=18100)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3, help="rounds (each runs one and two instances)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-search", action="store_true")
    parser.add_argument("--no-seed", action="store_true", help="the database is seeded already")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    if not args.no_seed:
        seed(args.database_url, args.redis_url)
    cluster = Cluster(database_url=args.database_url, redis_url=args.redis_url, base_port=args.base_port,
                      workers=args.workers, nginx_workers=args.nginx_workers,
                      run_dir=str(ROOT / "var" / "instances-bench"))
    routes = {"home": HOME, **({} if args.no_search else {"search": SEARCH})}
    figures, rows = {}, []
    with running(cluster):
        first = cluster.pids["instance-0"]  # the CPU column: the first instance's processes
        for name, path in routes.items():
            print(f"== {name} {path}", flush=True)
            one, two = rounds([(f"{name}: one instance via nginx", cluster.single_url + path, first),
                               (f"{name}: two instances via nginx", cluster.balancer_url + path, first)], args)
            ratios = sorted(t["requests_per_s"] / o["requests_per_s"] for o, t in zip(one["runs"], two["runs"]))
            figures[name] = {"path": path, "one": one, "two": two, "ratio": ratios[len(ratios) // 2],
                             "round_ratios": ratios}
            rows += [[r["name"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["errors"],
                      f"{r['server_cpu']:.0%}", f"{r['wrk_cpu']:.0%}"] for r in (one, two)]
    print(table(["target", "req/s", "p50 ms", "p99 ms", "errors", "instance-0 CPU", "wrk CPU"], rows))
    for name, figure in figures.items():
        print(f"{name}: two instances / one = {figure['ratio']:.2f}")
    path = write_results("instances", {"workers_per_instance": args.workers, "nginx_workers": args.nginx_workers,
                                       "seconds": args.seconds, "connections": args.connections, **figures})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
