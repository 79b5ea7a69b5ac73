"""Throughput of the hub's home route against a bare-Sanic hello-world, measured in the same run.

    python -m bench.home_bench [PATH] [--database-url URL] [--redis-url URL] [--seconds 10] [--runs 5]

Both servers run under Sanic's process manager with one worker, as ``govhub serve`` runs the hub,
and are measured in alternating rounds; the load comes from wrk
(Debian: ``apt-get install wrk``), one thread on the machine's other core. The generator's own CPU
use is measured in every run, so a result where wrk, not the server, was saturated shows up as such.
Target: the anonymous home serves at least 0.8 x what bare Sanic serves (issue #17; 0.6 before it).
"""
from __future__ import annotations

import argparse
import re
import resource
import shutil
import subprocess
import sys
import time

import httpx

from bench.servers import (
    DEFAULT_REDIS,
    ROOT,
    bare_sanic,
    cpu_seconds,
    ensure_database,
    hub,
    hub_env,
    table,
    write_results,
)

DEFAULT_PATH = "/wx/v1/home?region=330106000000"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_home_bench"  # created, migrated and seeded
TARGET_RATIO = 0.8


def wrk(url: str, *, seconds: int, connections: int, server_pid: int, script: str | None = None,
        script_args: tuple[str, ...] = ()) -> dict:
    """One wrk run: requests/s, latency percentiles, and the CPU share wrk and the server used.
    ``script``: a wrk Lua script shaping each request (``script_args`` reach its ``init``)."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before, started = cpu_seconds(server_pid), time.perf_counter()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency"] + (["-s", script] if script else [])
    out = subprocess.run(command + [url] + (["--", *script_args] if script_args else []),
                         capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - started
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    wrk_cpu = (after_children.ru_utime - before_children.ru_utime) + (after_children.ru_stime - before_children.ru_stime)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50_ms": _latency(out, "50%"), "p99_ms": _latency(out, "99%"),
            "errors": int(errors.group(1)) if errors else 0,
            "wrk_cpu": wrk_cpu / elapsed, "server_cpu": (cpu_seconds(server_pid) - server_before) / elapsed}


def _latency(out: str, label: str) -> float:
    value, unit = re.search(rf"{re.escape(label)}\s+([\d.]+)(us|ms|s)", out).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def check(url: str) -> None:
    status = httpx.get(url, timeout=10).status_code
    if status != 200:
        raise SystemExit(f"{url} answered {status}: is the route there (pass its PATH)?")


def rounds(targets: list[tuple], args) -> list[dict]:
    """Runs alternate between the servers, round after round, so a burst of other load on the
    machine hits both alike; each server's median run counts, and the ratio is the median of the
    rounds' ratios. A target is (name, url, pid) or (name, url, pid, run options for ``wrk``)."""
    def run(target: tuple, seconds: int) -> dict:
        _, url, pid, *options = target
        return wrk(url, seconds=seconds, connections=args.connections, server_pid=pid, **(options[0] if options else {}))

    for target in targets:
        if len(target) == 3:
            check(target[1])
        run(target, 2)  # warm-up
    runs: list[list[dict]] = [[] for _ in targets]
    for _ in range(args.runs):
        for i, target in enumerate(targets):
            runs[i].append(run(target, args.seconds))
    out = []
    for (name, url, *_), own in zip(targets, runs):
        median = sorted(own, key=lambda r: r["requests_per_s"])[len(own) // 2]
        print(f"  {name}: {[round(r['requests_per_s']) for r in own]} req/s", flush=True)
        out.append({"name": name, "url": url, **median, "runs": own})
    return out


def seed(database_url: str, redis_url: str, extra_env: dict[str, str] | None = None) -> None:
    """The demo regions, topics, catalog and nodes, so the hub has what a real one shows."""
    ensure_database(database_url)
    env = {**hub_env(database_url, redis_url), **(extra_env or {})}
    for command in ("migrate", "seed"):
        subprocess.run([sys.executable, "-m", "bff.cli", command], cwd=ROOT, env=env, check=True, capture_output=True)


def parse_home_arguments(parser: argparse.ArgumentParser, argv: list[str] | None, *, redis_url: str):
    """The options every home benchmark takes, parsed; wrk must be there."""
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=redis_url)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5, help="rounds (each runs both servers)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--no-seed", action="store_true", help="the database is seeded already")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    return args


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=DEFAULT_PATH, help=f"the hub route (default {DEFAULT_PATH})")
    args = parse_home_arguments(parser, argv, redis_url=DEFAULT_REDIS)
    if not args.no_seed:
        seed(args.database_url, args.redis_url)
    with bare_sanic() as (bare_url, bare_process), hub(args.database_url, args.redis_url) as (hub_url, hub_process):
        bare, home = rounds([("bare Sanic hello-world", bare_url + "/", bare_process.pid),
                             (f"hub {args.path.split('?')[0]}", hub_url + args.path, hub_process.pid)], args)
    ratios = sorted(h["requests_per_s"] / b["requests_per_s"] for b, h in zip(bare["runs"], home["runs"]))
    ratio = ratios[len(ratios) // 2]
    rows = [[r["name"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["errors"], f"{r['server_cpu']:.0%}",
             f"{r['wrk_cpu']:.0%}"] for r in (bare, home)]
    print(table(["server", "req/s", "p50 ms", "p99 ms", "errors", "server CPU", "wrk CPU"], rows))
    print(f"ratio {ratio:.2f} (target >= {TARGET_RATIO}): {'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    name = "home" if args.path == DEFAULT_PATH else "home_" + re.sub(r"\W+", "_", args.path).strip("_")
    path = write_results(name, {"path": args.path, "seconds": args.seconds, "connections": args.connections,
                                  "bare": bare, "home": home, "ratio": ratio, "round_ratios": ratios,
                                  "target_ratio": TARGET_RATIO})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
