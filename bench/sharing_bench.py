"""Exchange throughput (数据交换, issue #14): a consumer's call through the hub's ``/r1`` route
against the same call made straight to the provider, measured in the same rounds.

    python -m bench.sharing_bench [--database-url URL] [--redis-url URL] [--seconds 8] [--runs 3]
                                  [--connections 16]

What one exchange call does (docs/sharing.md, domain/sharing/exchange.py): ``bj-court`` calls
``GET /r1/CN/GOV/bj-psb/psb-data/household-register-extract/extract?id_number=…`` signed
GOVHUB-SIG-V1 with its own key; the hub checks the signature and claims the nonce (Redis), reads
the service's terms and the grant, takes a quota token (Redis), forwards a request it signs itself
to the provider (the department stub, in its own process, which checks the hub's signature and
answers), keeps only the granted fields, writes the message-log record and the citizen's
data-use row (hash-chained, in group-committed batches, PostgreSQL) and answers.

Measured in the same rounds, one after the other (wrk, one thread, ``--connections``):

- **bare Sanic** hello-world, for reading (the machine's ceiling for one Sanic worker);
- **direct**: wrk against the stub itself, each request signed by the hub's key exactly as the hub
  forwards it (``/nodes/bj-psb/services/household-register-extract/extract`` with X-Road-Client,
  -Service, -Id, -UserId and -Issue): what the provider costs on its own;
- **exchange**: wrk against the hub's ``/r1`` route, which in turn calls the stub.

wrk cannot sign, so every request is signed before its run (not timed), each with its own nonce
and a fresh timestamp, and the Lua script replays them in order, each once; the bench signs 1.5 x
what the fastest run so far would send. A reused nonce is refused (401 by the hub and by the stub)
and shows as non-2xx: a valid run has none. Target: exchange req/s >= 0.5 x direct req/s (the
median of the rounds' ratios); also reported, the p95 the exchange adds (exchange p95 - direct p95).
Both the stub and the hub (and PostgreSQL, Redis, wrk) share the machine's cores: in the exchange
run the stub does the same work as in the direct run, on the same cores as the hub.

Setup (not timed): the database ``govhub_sharing_bench`` is dropped, re-created and migrated (the
bench's own; whatever ``--database-url`` names is dropped too) and the bench's Redis database
flushed; the stub runs ``--no-review`` with bj-psb's dev key; the hub runs as ``govhub serve``
(one worker, scheduler off). Nodes are registered with ``govhub nodes add`` (there is no HTTP route
for it): bj-court with a key generated for the run, bj-psb with its dev key and the stub as its
endpoint. Then over the hub's HTTP API, signed as the nodes: bj-psb publishes the service
(``data_services.definition``), bj-court asks for a grant, bj-psb approves it with a quota of
60,000 a minute (the most the API allows; more than a run takes).

With the scheduler off nothing time-stamps the message log, and the exchange fails closed once a
record waits longer than ``GOVHUB_SHARING_MAX_UNSTAMPED_SECONDS`` (300 s by default): the bench
sets it to 86,400 for the hub and for the checks afterwards. Time-stamping is one RFC 3161 token per
up to 10,000 records every few seconds in production: not what is measured here.

Afterwards: the ``exchange_messages`` rows are counted (2xx answers and refusals; a 401 of the
signature check comes before the exchange and is not logged) against wrk's counts (wrk does not
count the calls still in flight when a run ends, up to ``--connections`` per run), records per
write transaction are read from the rows' ``xmin`` (nothing updates them: nothing stamps), and
``govhub sharing verify-log`` checks the chain.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import httpx
import redis

from bench.servers import (
    ROOT,
    bare_sanic,
    cpu_seconds,
    free_port,
    hub_env,
    serving,
    table,
    write_results,
)
from bench.sharing_setup import (
    ALICE,
    ASKED_FIELDS,
    CONSUMER,
    DEVKEYS,
    PROVIDER,
    QUOTA_PER_MINUTE,
    SERVICE,
    cli,
    fresh_database,
    id_numbers,
    publish_and_grant,
    register_nodes,
)

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_sharing_bench"  # dropped and re-created
DEFAULT_REDIS = "redis://127.0.0.1:6379/12"
TARGET_RATIO = 0.5
SUBSYSTEM = "psb-data"
SERVICE_ID = f"CN/GOV/{PROVIDER}/{SUBSYSTEM}/{SERVICE}"
EXCHANGE_PATH = f"/r1/{SERVICE_ID}/extract"
DIRECT_PATH = f"/nodes/{PROVIDER}/services/{SERVICE}/extract"
CLIENT = f"CN/GOV/{CONSUMER}/case-system"
USER_ID = "CN110105198001010011"
ISSUE = quote("(2026)京0105民初1234号")  # percent-encoded UTF-8: a header carries no Chinese
MAX_UNSTAMPED_SECONDS = 86_400
STUB_NONCES = 100_000  # what the stub remembers before it starts sweeping on every call
FIRST_GUESS = {"direct": 3000.0, "exchange": 1500.0}  # req/s, until a run says better

# Each line of a requests file: the path, then "Name: value" headers, tab-separated. Requests are
# formatted once in init and sent in order, each once (a wrap-around replays nonces: 401s).
LUA = r"""
local prepared, n = {}, 0
function init(args)
  if args[1] == nil then return end
  for line in io.lines(args[1]) do
    local path, headers = nil, {}
    for field in string.gmatch(line, "[^\t]+") do
      if path == nil then path = field else
        local name, value = string.match(field, "^([^:]+): (.*)$")
        headers[name] = value
      end
    end
    prepared[#prepared + 1] = wrk.format("GET", path, headers)
  end
end
function request()
  if #prepared == 0 then return wrk.request() end
  n = n + 1
  return prepared[((n - 1) % #prepared) + 1]
end
function done(summary, latency, _)
  local e = summary.errors
  io.write(string.format('BENCH {"requests": %d, "non_2xx": %d, "socket_errors": %d, "duration_s": %.3f, ' ..
    '"p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f}\n', summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(95) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
"""


def check_calls(hub_url: str, stub_url: str, consumer_key, hub_key) -> None:
    """One exchange and one direct call answer 200 with what each should carry, before any run."""
    with httpx.Client(timeout=10) as http:
        path, headers = exchange_request(consumer_key, ALICE, int(time.time()))
        answer = http.get(hub_url + path, headers=headers)
        if answer.status_code != 200 or set(answer.json()) != set(ASKED_FIELDS):
            raise SystemExit(f"the exchange answered {answer.status_code}: {answer.text}")
        path, headers = direct_request(hub_key, ALICE, int(time.time()))
        answer = http.get(stub_url + path, headers=headers)
        if answer.status_code != 200 or "id_number_masked" not in answer.json():
            raise SystemExit(f"the stub answered {answer.status_code}: {answer.text}")


# --- pre-signed requests -----------------------------------------------------------------------


def exchange_request(consumer_key, id_number: str, timestamp: int) -> tuple[str, dict[str, str]]:
    from domain.nodes import signatures

    query = f"id_number={id_number}"
    headers = {"X-Road-Client": CLIENT, "X-Road-UserId": USER_ID, "X-Road-Issue": ISSUE}
    headers.update(signatures.signed_headers(private_key=consumer_key, node=CONSUMER, method="GET",
                                             path=EXCHANGE_PATH, query_string=query, timestamp=timestamp))
    return f"{EXCHANGE_PATH}?{query}", headers


def direct_request(hub_key, id_number: str, timestamp: int) -> tuple[str, dict[str, str]]:
    """What the hub sends the provider for that call (adapters/departments/exchange_gateway.py)."""
    from domain.nodes import signatures
    from domain.nodes.rules import HUB_NODE_CODE

    query = f"id_number={id_number}"
    headers = {"X-Road-Client": CLIENT, "X-Road-Service": SERVICE_ID, "X-Road-Id": str(uuid.uuid4()),
               "X-Road-UserId": USER_ID, "X-Road-Issue": ISSUE}
    headers.update(signatures.signed_headers(private_key=hub_key, node=HUB_NODE_CODE, method="GET",
                                             path=DIRECT_PATH, query_string=query, timestamp=timestamp))
    return f"{DIRECT_PATH}?{query}", headers


def write_requests(path: Path, make, key, people: list[str], count: int) -> None:
    now = int(time.time())
    with path.open("w") as out:
        for i in range(count):
            target, headers = make(key, people[i % len(people)], now)
            out.write("\t".join([target, *(f"{k}: {v}" for k, v in headers.items())]) + "\n")


# --- measuring ---------------------------------------------------------------------------------


def machine_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def wrk(url: str, script: Path, *, seconds: int, connections: int, pids: dict[str, int],
        requests_file: Path | None = None) -> dict:
    """One wrk run: req/s, p50/p95/p99 (from the Lua ``done``), non-2xx, and the CPU share of wrk,
    of each server in ``pids`` (with its worker processes) and of the whole machine (all cores = 1)."""
    before_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    busy_before, total_before = machine_busy()
    started = time.perf_counter()
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url]
    if requests_file is not None:
        command += ["--", str(requests_file)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.perf_counter() - started
    after_children = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_after, total_after = machine_busy()
    stats = json.loads(re.search(r"^BENCH (.*)$", out, re.MULTILINE).group(1))
    wrk_cpu = (after_children.ru_utime - before_children.ru_utime
               + after_children.ru_stime - before_children.ru_stime)
    return {"requests_per_s": stats["requests"] / stats["duration_s"], **stats,
            "wrk_cpu": wrk_cpu / elapsed,
            **{f"{name}_cpu": (cpu_seconds(pid) - before[name]) / elapsed for name, pid in pids.items()},
            "machine_cpu": (busy_after - busy_before) / max(1, total_after - total_before)}


class Target:
    def __init__(self, name: str, url: str, pids: dict[str, int], make=None, key=None) -> None:
        self.name, self.url, self.pids, self.make, self.key = name, url, pids, make, key
        self.rate = FIRST_GUESS.get(name.split()[0], 0.0)
        self.signed_total = 0
        self.runs: list[dict] = []

    def run(self, work: Path, script: Path, people: list[str], seconds: int, connections: int) -> dict:
        requests_file = None
        count = 0
        if self.make is not None:
            count = math.ceil(self.rate * seconds * 1.5) + 500
            requests_file = work / "requests.txt"
            write_requests(requests_file, self.make, self.key, people, count)
            self.signed_total += count
        result = wrk(self.url, script, seconds=seconds, connections=connections, pids=self.pids,
                     requests_file=requests_file)
        result["signed"] = count
        if count and result["requests"] > count:
            print(f"  ! {self.name}: {result['requests']} requests sent, only {count} signed: "
                  "nonces replayed", flush=True)
        self.rate = max(self.rate, result["requests_per_s"])
        return result


def rounds(targets: list[Target], work: Path, script: Path, people: list[str], args) -> list[dict]:
    """As bench/home_bench.rounds: a warm-up, then rounds that run every target in turn; each
    target's median run (by req/s) counts."""
    warmups = [t.run(work, script, people, 2, args.connections) for t in targets]
    for _ in range(args.runs):
        for target in targets:
            target.runs.append(target.run(work, script, people, args.seconds, args.connections))
    out = []
    for target, warmup in zip(targets, warmups):
        own = target.runs
        median = sorted(own, key=lambda r: r["requests_per_s"])[len(own) // 2]
        print(f"  {target.name}: {[round(r['requests_per_s']) for r in own]} req/s", flush=True)
        out.append({"name": target.name, "url": target.url, **median, "runs": own, "warmup": warmup})
    return out


# --- after the rounds --------------------------------------------------------------------------


def message_log_counts(database_url: str) -> dict:
    import asyncpg

    async def read() -> dict:
        conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
        try:
            by = await conn.fetch("SELECT status, fault, count(*) AS n FROM exchange_messages"
                                  " GROUP BY 1, 2 ORDER BY 3 DESC")
            # xmin: the transaction that wrote the row (nothing updates these rows: nothing stamps)
            batches = await conn.fetchrow("SELECT count(*) AS records, count(DISTINCT xmin::text)"
                                          " AS transactions FROM exchange_messages")
            uses = await conn.fetchval("SELECT count(*) FROM data_uses")
            head = await conn.fetchval("SELECT seq FROM exchange_message_head WHERE id = 1")
        finally:
            await conn.close()
        return {"records": batches["records"], "write_transactions": batches["transactions"],
                "records_per_transaction": batches["records"] / max(1, batches["transactions"]),
                "data_uses": uses, "head_seq": head,
                "by_outcome": [{"status": r["status"], "fault": r["fault"], "count": r["n"]} for r in by]}

    return asyncio.run(read())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE, help="dropped and re-created")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS, help="flushed")
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3, help="rounds (each runs every target)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--people", type=int, default=2000, help="distinct ID numbers asked for, round-robin")
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    from domain.nodes import signatures

    hub_key = signatures.load_private_key((DEVKEYS / "hub_node_private.pem").read_bytes())
    people = id_numbers(args.people)
    stub_port, hub_port = free_port(), free_port()
    stub_url, hub_url = f"http://127.0.0.1:{stub_port}", f"http://127.0.0.1:{hub_port}"
    env = {**hub_env(args.database_url, args.redis_url, hub_port),
           "GOVHUB_SHARING_MAX_UNSTAMPED_SECONDS": str(MAX_UNSTAMPED_SECONDS),
           "GOVHUB_STUB_PORT": str(stub_port)}  # the message log's TSA is the stub's (nothing stamps here)
    redis.Redis.from_url(args.redis_url).flushdb()
    fresh_database(args.database_url, env)
    stub_command = [sys.executable, "-m", "adapters.departments.stub", "--port", str(stub_port),
                    "--no-review", "--hub-url", hub_url, "--hub-key", str(DEVKEYS / "hub_node_public.pem"),
                    "--node", f"{PROVIDER}={DEVKEYS / 'demo_node_beijing_psb_private.pem'}"]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        consumer_key = register_nodes(env, work, stub_url)
        script = work / "signed.lua"
        script.write_text(LUA)
        with serving(stub_command, hub_env("", ""), f"{stub_url}/_stub/health") as stub, \
                serving([sys.executable, "-m", "bff.cli", "serve"], env, f"{hub_url}/healthz") as hub, \
                bare_sanic() as (bare_url, bare):
            grant_id = publish_and_grant(hub_url, consumer_key)
            check_calls(hub_url, stub_url, consumer_key, hub_key)
            print(f"hub pid {hub.pid}, stub pid {stub.pid}; grant {grant_id}", flush=True)
            targets = [Target("bare Sanic hello-world", bare_url + "/", {"server": bare.pid}),
                       Target("direct (stub, signed by the hub key)", stub_url + DIRECT_PATH,
                              {"stub": stub.pid}, direct_request, hub_key),
                       Target("exchange (hub /r1 -> stub)", hub_url + EXCHANGE_PATH,
                              {"hub": hub.pid, "stub": stub.pid}, exchange_request, consumer_key)]
            bare_result, direct, exchange = rounds(targets, work, script, people, args)
        log = message_log_counts(args.database_url)
        verified = cli(env, "sharing", "verify-log", check=False)
    pairs = list(zip(direct["runs"], exchange["runs"]))
    ratios = sorted(e["requests_per_s"] / d["requests_per_s"] for d, e in pairs)
    ratio = ratios[len(ratios) // 2]
    added = sorted(e["p95_ms"] - d["p95_ms"] for d, e in pairs)
    p95_added = added[len(added) // 2]
    # What reached the exchange: wrk's answers (warm-up included) and the one check call. A 401 of
    # the signature check is not in the log; wrk does not count what was in flight at its end.
    answered = 1 + sum(r["requests"] for r in [exchange["warmup"], *exchange["runs"]])
    non_2xx = sum(r["non_2xx"] for r in [exchange["warmup"], *exchange["runs"]])
    in_flight_bound = args.connections * (args.runs + 1)
    stub_signed = sum(r["requests"] for t in (direct, exchange) for r in [t["warmup"], *t["runs"]])

    def cpu(r: dict, name: str) -> str:
        return f"{r[name]:.0%}" if name in r else "-"

    rows = [[r["name"], r["requests_per_s"], r["p50_ms"], r["p95_ms"], r["p99_ms"],
             r["non_2xx"] + r["socket_errors"], cpu(r, "hub_cpu"),
             cpu(r, "stub_cpu") if "stub_cpu" in r else cpu(r, "server_cpu"), cpu(r, "wrk_cpu"),
             f"{r['machine_cpu']:.0%}"] for r in (bare_result, direct, exchange)]
    print(table(["target", "req/s", "p50 ms", "p95 ms", "p99 ms", "non-2xx/err", "hub CPU", "stub/server CPU",
                 "wrk CPU", "machine CPU"], rows))
    print(f"ratio exchange/direct {ratio:.3f} (rounds {', '.join(f'{r:.3f}' for r in ratios)}; target >= "
          f"{TARGET_RATIO}): {'MET' if ratio >= TARGET_RATIO else 'MISSED'}")
    print(f"p95 the exchange adds: {p95_added:.1f} ms (median of the rounds' exchange p95 - direct p95)")
    print(f"for reading: direct is {direct['requests_per_s'] / bare_result['requests_per_s']:.3f} of the "
          f"hello-world, the exchange {exchange['requests_per_s'] / bare_result['requests_per_s']:.3f}")
    print()
    print(table(["message log", "count"], [
        ["exchange_messages rows", log["records"]], ["chain head seq", log["head_seq"]],
        ["answers to exchange calls (wrk, incl. warm-up, + 1 check)", answered],
        ["  of them non-2xx", non_2xx],
        [f"rows - answers (calls in flight at wrk's end: <= {in_flight_bound})", log["records"] - answered],
        *[[f"  status {o['status']}" + (f" fault {o['fault']}" if o["fault"] else ""), o["count"]]
          for o in log["by_outcome"]],
        ["data_uses rows", log["data_uses"]],
        ["write transactions (distinct xmin)", log["write_transactions"]],
        ["records per transaction (mean)", f"{log['records_per_transaction']:.1f}"]]))
    if stub_signed > STUB_NONCES:
        print(f"! the stub checked {stub_signed:,} signed calls: past {STUB_NONCES:,} remembered nonces it"
              " scans them all on every call (adapters/departments/stub/server.py), which slows it:"
              " fewer --seconds or --runs")
    print("verify-log:", verified.stdout.strip() or verified.stderr.strip(), f"(exit {verified.returncode})")
    consistent = (verified.returncode == 0 and 0 <= log["records"] - answered <= in_flight_bound
                  and log["records"] == log["head_seq"])
    path = write_results("sharing", {
        "seconds": args.seconds, "connections": args.connections, "people": args.people,
        "service": SERVICE_ID, "fields_granted": ASKED_FIELDS, "quota_per_minute": QUOTA_PER_MINUTE,
        "bare": bare_result, "direct": direct, "exchange": exchange,
        "ratio": ratio, "round_ratios": ratios, "target_ratio": TARGET_RATIO,
        "p95_added_ms": p95_added, "round_p95_added_ms": added,
        "message_log": {**log, "exchange_answers": answered, "exchange_non_2xx": non_2xx,
                        "verify_log": verified.stdout.strip(), "verify_log_exit": verified.returncode,
                        "consistent": consistent}})
    print(f"results: {path.relative_to(ROOT)}")
    return 0 if consistent else 1


if __name__ == "__main__":
    raise SystemExit(main())
