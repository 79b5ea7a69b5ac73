"""Submit throughput on PostgreSQL against a bare-Sanic hello-world, measured in the same run.

    python -m bench.submit_bench [--citizens 1000] [--seconds 10] [--runs 5] [--connections 32]

What one submit does (docs/applications.md): authenticate the citizen (L2), validate the form
against the matter's JSON Schema, claim the Idempotency-Key, take the next number of the region's
day, write the application, its transitions and its outbox delivery in one transaction, answer 201.
Every request is a new submission: a new key, round-robin over ``--citizens`` real-name-verified
citizens and three matters in three regions (居民身份证挂失申报 in 北京, 上海, 杭州 — the demo
matters that need no uploaded material). The scheduler is off, so deliveries wait in the outbox:
the relay has its own benchmark (relay_bench.py).

Setup (not timed): a database ``govhub_submit_bench`` migrated and seeded, the mock WeChat server,
citizens logged in through it and verified against the real-name stub (their identities, valid ID
numbers generated here, are handed to the stub with GOVHUB_STUB_REGISTER_FILE). Load: wrk with a
Lua script (one thread, the other core). Measured in the same rounds: a bare-Sanic hello-world and
the same bare Sanic making one PostgreSQL insert per request (autocommit) — the cheapest durable
write, with nothing the hub does around it. Target (issue #17): ≥ 0.3 × that bare insert (it
replaced the first target, 0.25 × the hello-world, which no durable write reaches here).
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

import httpx
import redis
from stdnum.cn import ric

from bench.home_bench import rounds, seed
from bench.servers import ROOT, bare_sanic, free_port, hub_env, serving, table, write_results

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_submit_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/13"
TARGET_RATIO = 0.3  # of the bare Sanic doing one PostgreSQL insert per request (issue #17)
MATTERS = ["110000-NAT-0036", "310000-NAT-0036", "330100-NAT-0036"]
FORM = {"reason": "身份证遗失，申请挂失", "phone": "13800000001"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华"

LUA = """
local tokens, bodies, n, nonce = {}, {}, 0, ""
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
  for line in io.lines(args[2]) do bodies[#bodies + 1] = line end
  math.randomseed(os.time())
  nonce = tostring(os.time()) .. "-" .. tostring(math.random(1000000000))
end
function request()
  n = n + 1
  local headers = {["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1],
                   ["Content-Type"] = "application/json",
                   ["Idempotency-Key"] = "bench-" .. nonce .. "-" .. n}
  return wrk.format("POST", "/wx/v1/applications", headers, bodies[(n % #bodies) + 1])
end
"""


def identities(count: int) -> list[tuple[str, str]]:
    """(ID number, name): valid for stdnum.cn.ric (check digit, and the birth place as coded at birth)."""
    out = []
    for i in range(count):
        born = dt.date(1988, 1, 1) + dt.timedelta(days=i * 7)  # 330106 is 西湖区 since before 1988
        stem = f"330106{born:%Y%m%d}{i % 1000:03d}"  # calc_check_digit wants a placeholder 18th digit
        out.append((stem + ric.calc_check_digit(stem + "0"), SURNAMES[i % 20] + GIVEN[(i // 20) % len(GIVEN)] + GIVEN[i % len(GIVEN)]))
    return out


async def verified_tokens(hub_url: str, mock_url: str, people: list[tuple[str, str]]) -> list[str]:
    """Each citizen logs in through the mock WeChat and passes real name (L2), each from an address
    of their own (the hub trusts one proxy here, like behind its load balancer: logins are
    rate-limited per address)."""
    async with httpx.AsyncClient(base_url=hub_url, timeout=30) as hub, httpx.AsyncClient(base_url=mock_url) as mock:
        async def one(i: int, id_number: str, name: str) -> str:
            code = (await mock.post("/_mock/wechat/login", json={"user": f"bench{i}"})).json()["code"]
            address = {"X-Forwarded-For": f"10.9.{i // 250}.{i % 250 + 1}"}
            session = (await hub.post("/wx/v1/session", json={"code": code}, headers=address)).raise_for_status().json()
            headers = {"Authorization": f"Bearer {session['access_token']}", **address}
            verified = await hub.post("/wx/v1/me/real-name", json={"name": name, "id_number": id_number},
                                      headers=headers)
            if verified.status_code != 200:
                raise SystemExit(f"real name of {name} {id_number}: {verified.status_code} {verified.text}")
            return (verified.json()["session"] or session)["access_token"]

        tokens = []
        for start in range(0, len(people), 20):
            tokens += await asyncio.gather(*(one(i, *p) for i, p in enumerate(people[start:start + 20], start)))
        return tokens


def check_submit(hub_url: str, token: str) -> None:
    response = httpx.post(f"{hub_url}/wx/v1/applications", timeout=10,
                          json={"matter_code": MATTERS[0], "form": FORM, "materials": []},
                          headers={"Authorization": f"Bearer {token}", "Idempotency-Key": "bench-check"})
    if response.status_code != 201:
        raise SystemExit(f"a submit answered {response.status_code}: {response.text}")


@contextlib.contextmanager
def mock_server():
    port = free_port()
    with serving([sys.executable, "-m", "miniprogram_mock", "serve", "--port", str(port)], hub_env("", ""),
                 f"http://127.0.0.1:{port}/_mock/health"):
        yield f"http://127.0.0.1:{port}", port


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    # Each citizen may submit 60 a minute (the route's limit): fewer citizens than the rate turn
    # the run into a benchmark of 429s. The table shows non-2xx answers; a valid run has none.
    parser.add_argument("--citizens", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=5, help="rounds (each runs both servers)")
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    with tempfile.TemporaryDirectory() as tmp, mock_server() as (mock_url, mock_port):
        work = Path(tmp)
        people = identities(args.citizens)
        (work / "register.csv").write_text("".join(f"{i},{n}\n" for i, n in people), encoding="utf-8")
        env = {"GOVHUB_MOCK_PORT": str(mock_port), "GOVHUB_STUB_REGISTER_FILE": str(work / "register.csv")}
        # The bench's own Redis database: rate-limit buckets of an earlier run (its citizens log in
        # from the same addresses) would refuse this run's logins and real-name checks.
        redis.Redis.from_url(args.redis_url).flushdb()
        seed(args.database_url, args.redis_url, extra_env=env)
        with bare_sanic() as (bare_url, bare), bare_sanic(args.database_url) as (insert_url, insert_server), \
                hub_with(args, env) as (hub_url, hub_process):
            tokens = asyncio.run(verified_tokens(hub_url, mock_url, people))
            check_submit(hub_url, tokens[0])
            (work / "tokens.txt").write_text("\n".join(tokens) + "\n")
            (work / "bodies.txt").write_text("".join(json.dumps(
                {"matter_code": m, "form": FORM, "materials": []}, ensure_ascii=False) + "\n" for m in MATTERS))
            (work / "submit.lua").write_text(LUA)
            options = {"script": str(work / "submit.lua"),
                       "script_args": (str(work / "tokens.txt"), str(work / "bodies.txt"))}
            bare_result, insert, submit = rounds([
                ("bare Sanic hello-world", bare_url + "/", bare.pid),
                ("bare Sanic, one PostgreSQL insert", insert_url + "/wx/v1/applications", insert_server.pid, options),
                ("hub POST /wx/v1/applications", hub_url + "/wx/v1/applications", hub_process.pid, options)], args)
    ratios = sorted(s["requests_per_s"] / i["requests_per_s"] for i, s in zip(insert["runs"], submit["runs"]))
    ratio = ratios[len(ratios) // 2]
    rows = [[r["name"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["errors"], f"{r['server_cpu']:.0%}",
             f"{r['wrk_cpu']:.0%}"] for r in (bare_result, insert, submit)]
    print(table(["server", "req/s", "p50 ms", "p99 ms", "non-2xx", "server CPU", "wrk CPU"], rows))
    print(f"ratio to the bare insert {ratio:.3f} (target >= {TARGET_RATIO}): {'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    print(f"for reading it: one bare insert per request is {insert['requests_per_s'] / bare_result['requests_per_s']:.3f}"
          f" of the hello-world; the hub's submit is {submit['requests_per_s'] / bare_result['requests_per_s']:.3f}"
          " of the hello-world")
    path = write_results("submit", {"citizens": args.citizens, "matters": MATTERS, "seconds": args.seconds,
                                    "connections": args.connections, "bare": bare_result, "bare_insert": insert,
                                    "submit": submit,
                                    "ratio": ratio, "ratio_of": "bare_insert", "round_ratios": ratios,
                                    "target_ratio": TARGET_RATIO})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


@contextlib.contextmanager
def hub_with(args, extra_env: dict[str, str]):
    port = free_port()
    env = {**hub_env(args.database_url, args.redis_url, port), **extra_env, "SANIC_PROXIES_COUNT": "1"}
    with serving([sys.executable, "-m", "bff.cli", "serve"], env, f"http://127.0.0.1:{port}/healthz") as process:
        yield f"http://127.0.0.1:{port}", process


if __name__ == "__main__":
    raise SystemExit(main())
