"""Throughput of the home route for logged-in citizens, many of them, against a bare-Sanic hello-world.

    python -m bench.home_citizens_bench [--citizens 10000] [--seconds 10] [--runs 5]

Logged out, everyone in a region gets the same kept page (home_bench.py). Logged in, each citizen's
page carries their own open items: the token is verified (signature, key, revocation) and the count
is the citizen's. This measures that page for ``--citizens`` distinct citizens, wrk going round them
(one thread, the other core), so no citizen's answer is reused from the one before.

Setup (not timed): the demo database ``govhub_home_bench`` (migrated and seeded as home_bench
seeds it), the mock WeChat server, and every citizen logged in through it on WeChat (L1), each from
an address of their own (logins are rate-limited per address; the hub trusts one proxy here, as
behind its balancer). Tokens live an hour here, so the logins and the rounds fit in their lifetime.
Target (issue #17): ≥ 0.4 × bare Sanic.
"""
from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import httpx
import redis

from bench.home_bench import parse_home_arguments, rounds, seed
from bench.servers import ROOT, bare_sanic, table, write_results
from bench.submit_bench import hub_with, mock_server

DEFAULT_REDIS = "redis://127.0.0.1:6379/12"  # its own database: flushed before each run
PATH = "/wx/v1/home?region=330106000000"
TARGET_RATIO = 0.4

LUA = """
local tokens, n = {}, 0
function init(args)
  for line in io.lines(args[1]) do tokens[#tokens + 1] = line end
end
function request()
  n = n + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. tokens[(n % #tokens) + 1]})
end
"""


async def logged_in(hub_url: str, mock_url: str, count: int) -> list[str]:
    """``count`` citizens log in on WeChat through the mock: their access tokens."""
    async with httpx.AsyncClient(base_url=hub_url, timeout=30) as hub, httpx.AsyncClient(base_url=mock_url) as mock:
        async def one(i: int) -> str:
            code = (await mock.post("/_mock/wechat/login", json={"user": f"home{i}"})).json()["code"]
            address = {"X-Forwarded-For": f"10.{8 + i // 62500}.{i // 250 % 250}.{i % 250 + 1}"}
            session = await hub.post("/wx/v1/session", json={"code": code}, headers=address)
            return session.raise_for_status().json()["access_token"]

        tokens: list[str] = []
        for start in range(0, count, 50):
            tokens += await asyncio.gather(*(one(i) for i in range(start, min(count, start + 50))))
        return tokens


def check(hub_url: str, token: str) -> None:
    page = httpx.get(hub_url + PATH, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    if page.status_code != 200 or page.json().get("open_items") is None:
        raise SystemExit(f"a logged-in home answered {page.status_code}: {page.text[:300]}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=10_000)
    args = parse_home_arguments(parser, argv, redis_url=DEFAULT_REDIS)
    redis.Redis.from_url(args.redis_url).flushdb()  # an earlier run's login buckets would refuse these logins
    with tempfile.TemporaryDirectory() as tmp, mock_server() as (mock_url, mock_port):
        env = {"GOVHUB_MOCK_PORT": str(mock_port), "GOVHUB_ACCESS_TOKEN_TTL": "3600"}
        if not args.no_seed:
            seed(args.database_url, args.redis_url, extra_env=env)
        with bare_sanic() as (bare_url, bare), hub_with(args, env) as (hub_url, hub_process):
            tokens = asyncio.run(logged_in(hub_url, mock_url, args.citizens))
            check(hub_url, tokens[0])
            (Path(tmp) / "tokens.txt").write_text("\n".join(tokens) + "\n")
            (Path(tmp) / "home.lua").write_text(LUA)
            options = {"script": str(Path(tmp) / "home.lua"), "script_args": (str(Path(tmp) / "tokens.txt"),)}
            bare_result, home = rounds([("bare Sanic hello-world", bare_url + "/", bare.pid),
                                        (f"hub {PATH.split('?')[0]}, {len(tokens):,} citizens", hub_url + PATH,
                                         hub_process.pid, options)], args)
    ratios = sorted(h["requests_per_s"] / b["requests_per_s"] for b, h in zip(bare_result["runs"], home["runs"]))
    ratio = ratios[len(ratios) // 2]
    rows = [[r["name"], r["requests_per_s"], r["p50_ms"], r["p99_ms"], r["errors"], f"{r['server_cpu']:.0%}",
             f"{r['wrk_cpu']:.0%}"] for r in (bare_result, home)]
    print(table(["server", "req/s", "p50 ms", "p99 ms", "non-2xx", "server CPU", "wrk CPU"], rows))
    print(f"ratio {ratio:.2f} (target >= {TARGET_RATIO}): {'met' if ratio >= TARGET_RATIO else 'MISSED'}")
    path = write_results("home_citizens", {"path": PATH, "citizens": len(tokens), "seconds": args.seconds,
                                           "connections": args.connections, "bare": bare_result, "home": home,
                                           "ratio": ratio, "round_ratios": ratios, "target_ratio": TARGET_RATIO})
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
