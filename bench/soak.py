"""Soak: minutes of mixed traffic at a fixed rate; no errors, flat memory, a steady p99.

    python -m bench.soak [--minutes 10] [--rate 60] [--base-url URL]

Setup (not measured): a fresh database ``govhub_soak`` migrated and seeded, Redis database 1
flushed (only that one), the mock WeChat/SMS server, the department stub reviewing what it receives
(accepted, review started, approved, completed: four signed callbacks to the hub per application)
as zj-platform's endpoint, and ``govhub serve`` with two workers and the scheduler relaying every
second. ``--citizens`` citizens log in through the mock and pass real name (L2), each from an
address of their own. ``--base-url`` aims at a hub (or balancer) already running instead; the
end-of-run checks then need ``--stub-url`` / ``--mock-url`` / ``--database-url`` of that setup,
and memory is sampled only with ``--hub-pid``.

Load: bench/soak_load.py's open-loop mix (browse, search, matter, WeChat and SMS logins, my
applications and messages, consent to messages, submit to 杭州 — 330100-NAT-0036 — so deliveries
go to the stub). The generator is this process, on asyncio (uvloop) with one HTTP/1.1 client:
at 60 operations/s it uses a few percent of a core, measured and printed (``generator_cpu``), so
the hub's two workers and scheduler have the rest. wrk would be cheaper still, but its Lua cannot
follow a login with the code the mock hands out, nor keep the token a login returns.

Every ``--sample`` s: completed hub requests/s, p50/p99 of the window, errors, and the RSS of
every process of the hub's tree (from /proc). At the end: submitted vs stored vs delivered to the
stub exactly once, callbacks the hub accepted, WeChat messages the mock received. Verdict and
samples go to bench/results/soak.json, the figure to docs/soak.svg (bench/soak_report.py).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg
import httpx
import redis

from bench.home_bench import seed
from bench.servers import ROOT, hub_env, recreate_database, serving, table, write_results
from bench.soak_load import SUBMIT_MATTER, Citizen, Load, generate
from bench.soak_report import figure, memory_growth, p99_thirds, verdict, window
from bench.submit_bench import identities, verified_tokens

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_soak"
DEFAULT_REDIS = "redis://127.0.0.1:6379/1"
PORTS = {"hub": 18700, "mock": 18701, "stub": 18702}  # this benchmark's range: 18700-18799
DEVKEYS = ROOT / "devkeys"
NODE = "zj-platform"


def tree(pid: int) -> dict[str, int]:
    """name -> pid of the process and its descendants; Sanic names its children (SANIC_WORKER_NAME)."""
    found, queue = {}, [pid]
    while queue:
        current = queue.pop()
        name = "main" if current == pid else _worker_name(current)
        found[name] = current
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                queue += [int(c) for c in children.read_text().split()]
    return found


def _worker_name(pid: int) -> str:
    with contextlib.suppress(OSError):
        for item in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            if item.startswith(b"SANIC_WORKER_NAME="):
                return item.split(b"=", 1)[1].decode()
    return f"pid {pid}"


def rss_mb(pids: dict[str, int]) -> dict[str, float]:
    out = {}
    for name, pid in pids.items():
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    out[name] = int(line.split()[1]) / 1024
    return out


async def sampler(load: Load, hub_pid: int | None, every: float, start: float, samples: list[dict]) -> None:
    last = start
    while True:
        await asyncio.sleep(every - (time.perf_counter() - start) % every)
        now = time.perf_counter()
        sample = {"t": round(now - start, 1), **window(load.events, last, now),
                  "rss_mb": rss_mb(tree(hub_pid)) if hub_pid else {}, "late_starts": load.late}
        samples.append(sample)
        memory = " ".join(f"{n} {v:.0f}" for n, v in sorted(sample["rss_mb"].items()))
        print(f"  {sample['t']:6.0f} s  {sample['rate']:5.1f} req/s  p50 {sample['p50_ms']:6.1f}  "
              f"p99 {sample['p99_ms']:7.1f} ms  errors {sample['errors']}  late {load.late}  RSS MB: {memory}",
              flush=True)
        last = now


async def soak(args, hub_url: str, mock_url: str, people: list, hub_pid: int | None) -> tuple[Load, list, dict]:
    tokens = await verified_tokens(hub_url, mock_url, people)
    limits = httpx.Limits(max_connections=2000, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=hub_url, timeout=30, limits=limits) as hub, \
            httpx.AsyncClient(base_url=mock_url, timeout=30, limits=limits) as mock:
        load = Load(hub=hub, mock=mock, citizens=[Citizen(i, t) for i, t in enumerate(tokens)])
        samples: list[dict] = []
        cpu_before, start = time.process_time(), time.perf_counter()
        task = asyncio.create_task(sampler(load, hub_pid, args.sample, start, samples))
        await generate(load, args.rate, args.minutes * 60)
        end = time.perf_counter()
        task.cancel()
        timing = {"start": start, "end": end, "generator_cpu": (time.process_time() - cpu_before) / (end - start)}
    return load, samples, timing


async def outcome(args, load: Load, stub_url: str | None, mock_url: str) -> dict:
    """Submitted vs stored vs delivered once, callbacks answered, messages sent: waits for the relay
    and the stub's callbacks to finish (up to ``--drain`` s)."""
    submitted = set(load.submitted)
    found: dict = {"submitted": len(submitted)}
    async with httpx.AsyncClient(timeout=30) as client:
        deadline = time.monotonic() + args.drain
        while stub_url:
            received = (await client.get(f"{stub_url}/_stub/deliveries", params={"node": NODE})).json()["deliveries"]
            callbacks = (await client.get(f"{stub_url}/_stub/callbacks")).json()["callbacks"]
            arrived = [r for r in received if r["kind"] == "node.application.submitted" and r["number"] in submitted]
            pending = [c for c in callbacks if c["state"] == "pending"]
            if (len(arrived) >= len(submitted) and not pending) or time.monotonic() > deadline:
                break
            await asyncio.sleep(2)
        if stub_url:
            found |= {"delivered": len({r["number"] for r in arrived}),
                      "processed_more_than_once": sum(r["processed"] != 1 for r in arrived),
                      "callbacks": len(callbacks), "callbacks_pending": len(pending),
                      "callbacks_refused": sum(c["state"] != "pending" and not 200 <= (c["last_status"] or 0) < 300
                                               for c in callbacks)}
        messages = (await client.get(f"{mock_url}/_mock/wechat/messages")).json()["messages"]
        found["wechat_messages"] = len(messages)
    if args.database_url:
        connection = await asyncpg.connect(args.database_url)
        try:
            stored = await connection.fetch("SELECT number FROM applications WHERE matter_code = $1", SUBMIT_MATTER)
            found["stored"] = len(submitted & {r["number"] for r in stored})
            found["deliveries_by_status"] = {r["status"]: r["n"] for r in await connection.fetch(
                "SELECT status, count(*) AS n FROM deliveries GROUP BY status")}
        finally:
            await connection.close()
    return found


def checks_of(found: dict) -> dict[str, bool]:
    n = found["submitted"]
    checks = {"stored == submitted": found.get("stored", n) == n}
    if "delivered" in found:
        checks |= {"delivered == submitted": found["delivered"] == n,
                   "each processed once": found["processed_more_than_once"] == 0,
                   "callbacks all answered 2xx": found["callbacks_pending"] == 0 and found["callbacks_refused"] == 0}
    return checks


@contextlib.contextmanager
def own_setup(args, people: list):
    """The mock, the stub (reviewing) and the hub (two workers, scheduler on), on PORTS."""
    redis.Redis.from_url(args.redis_url).flushdb()  # only this benchmark's database
    if not args.keep_database:
        recreate_database(args.database_url)
    hub_url, mock_url, stub_url = (f"http://127.0.0.1:{PORTS[k]}" for k in ("hub", "mock", "stub"))
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile("w+") as stub_log:
        register = Path(tmp) / "register.csv"
        register.write_text("".join(f"{i},{n}\n" for i, n in people), encoding="utf-8")
        env = {**hub_env(args.database_url, args.redis_url, PORTS["hub"]), "GOVHUB_MOCK_PORT": str(PORTS["mock"]),
               "GOVHUB_STUB_REGISTER_FILE": str(register), "SANIC_PROXIES_COUNT": "1", "GOVHUB_WORKERS": "2",
               "GOVHUB_SCHEDULER_ENABLED": "true", "GOVHUB_RELAY_INTERVAL_SECONDS": "1"}
        if not args.keep_database:
            seed(args.database_url, args.redis_url, extra_env=env)
        subprocess.run([sys.executable, "-m", "bff.cli", "nodes", "set-endpoint", NODE, f"{stub_url}/nodes/{NODE}"],
                       cwd=ROOT, env=env, check=True, capture_output=True)
        stub = subprocess.Popen(
            [sys.executable, "-m", "adapters.departments.stub", "--port", str(PORTS["stub"]), "--hub-url", hub_url,
             "--hub-key", str(DEVKEYS / "hub_node_public.pem"), "--delay", str(args.review_delay),
             "--db", str(Path(tmp) / "stub.sqlite3"), "--node", f"{NODE}={DEVKEYS / 'demo_node_zhejiang_private.pem'}"],
            cwd=ROOT, stdout=stub_log, stderr=subprocess.STDOUT)
        try:
            with serving([sys.executable, "-m", "miniprogram_mock", "serve", "--port", str(PORTS["mock"])],
                         hub_env("", ""), f"{mock_url}/_mock/health"), \
                    serving([sys.executable, "-m", "bff.cli", "serve"], env, f"{hub_url}/healthz") as hub:
                httpx.get(f"{stub_url}/_stub/health", timeout=10).raise_for_status()
                yield hub_url, mock_url, stub_url, hub.pid
        finally:
            stub.terminate()
            stub.wait(timeout=10)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=60, help="operations started per second")
    parser.add_argument("--citizens", type=int, default=200, help="verified citizens (each submits < its limit)")
    parser.add_argument("--warmup", type=float, help="seconds not judged (default: 120, or a third of a short run)")
    parser.add_argument("--sample", type=float, default=10, help="seconds per sample")
    parser.add_argument("--review-delay", type=float, default=0.5, help="the stub's seconds before each callback")
    parser.add_argument("--drain", type=float, default=120, help="seconds to wait for deliveries and callbacks")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    parser.add_argument("--keep-database", action="store_true", help="reuse the seeded database of an earlier run")
    parser.add_argument("--base-url", help="a running hub or balancer: no setup of our own")
    parser.add_argument("--mock-url", help="with --base-url: that setup's mock WeChat/SMS server")
    parser.add_argument("--stub-url", help="with --base-url: that setup's department stub")
    parser.add_argument("--hub-pid", type=int, help="with --base-url: the hub process whose tree to sample")
    parser.add_argument("--svg", type=Path, default=ROOT / "docs" / "soak.svg")
    args = parser.parse_args(argv)
    warmup = args.warmup if args.warmup is not None else (120 if args.minutes >= 6 else args.minutes * 20)
    people = identities(args.citizens)
    with contextlib.ExitStack() as stack:
        if args.base_url:
            if not args.mock_url:
                raise SystemExit("--base-url needs --mock-url (logins take their codes from the mock)")
            hub_url, mock_url, stub_url, hub_pid = args.base_url, args.mock_url, args.stub_url, args.hub_pid
        else:
            hub_url, mock_url, stub_url, hub_pid = stack.enter_context(own_setup(args, people))
        print(f"soak: {args.minutes:g} min at {args.rate:g} operations/s on {hub_url} (warm-up {warmup:g} s)", flush=True)
        load, samples, timing = _run(soak(args, hub_url, mock_url, people, hub_pid))
        found = asyncio.run(outcome(args, load, stub_url, mock_url))
    return report(args, load, samples, timing, found, warmup)


def _run(coroutine):
    """uvloop when installed (Sanic's own loop): the generator's cost per request is lower."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def report(args, load: Load, samples: list, timing: dict, found: dict, warmup: float) -> int:
    memory = memory_growth(samples, warmup)
    p99 = p99_thirds(load.events, timing["start"], warmup, timing["end"])
    errors = sum(load.failures.values())
    result = verdict(errors=errors, checks=checks_of(found), memory=memory, p99=p99)
    overall = window(load.events, timing["start"] + warmup, timing["end"] + 1e-9)
    print(table(["process", "RSS after warm-up MB", "RSS at end MB", "peak MB", "growth"],
                [[n, m["after_warmup_mb"], m["end_mb"], m["peak_mb"], f"{m['growth']:+.1%}"] for n, m in memory.items()]))
    print(f"operations started {load.started} ({load.late} late > 20 ms), hub requests {len(load.events)}, "
          f"errors {errors} {dict(load.failures) or ''}")
    print(f"after warm-up: {overall['rate']:.1f} req/s, p50 {overall['p50_ms']:.1f} ms, p99 {overall['p99_ms']:.1f} ms; "
          f"p99 first third {p99['first_third_p99_ms']} ms, last third {p99['last_third_p99_ms']} ms (x{p99['ratio']})")
    print(f"outcome: {found}; generator CPU {timing['generator_cpu']:.0%} of a core")
    print("verdict: " + ", ".join(f"{k} {'yes' if result[k] else 'NO'}" for k in ("errors_zero", "memory_flat", "p99_steady"))
          + f" -> {'PASSED' if result['passed'] else 'FAILED'}")
    path = write_results("soak", {
        "minutes": args.minutes, "rate": args.rate, "citizens": args.citizens, "warmup_s": warmup,
        "hub": args.base_url or "own setup: govhub serve, 2 workers, scheduler (relay every 1 s)",
        "operations_started": load.started, "late_starts": load.late, "hub_requests": len(load.events),
        "errors": errors, "failures": dict(load.failures), "after_warmup": overall, "p99": p99, "memory": memory,
        "outcome": found, "generator_cpu": timing["generator_cpu"],
        "verdict": result, "samples": samples})
    args.svg.write_text(figure(samples, f"Soak: {args.minutes:g} min at {args.rate:g} operations/s"), encoding="utf-8")
    print(f"results: {path.relative_to(ROOT)}, figure: {args.svg}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
