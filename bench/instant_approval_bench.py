"""Latency of an instant-approval submit (秒批 of 个体工商户设立登记) over HTTP, on PostgreSQL.

    python -m bench.instant_approval_bench [--count 200] [--database-url URL] [--redis-url URL]

A fresh database is migrated and seeded (``govhub seed``); the mock WeChat server and the hub
(``govhub serve``, one worker) run as processes. A citizen logs in on WeChat and verifies real
name; each submit is one ``POST /wx/v1/applications`` with a fresh business name and its two
materials uploaded beforehand (uploads are not timed). The bench plays one citizen, far beyond the
per-citizen rate limits (120 uploads an hour, 60 submits a minute), so it empties the limit buckets
(``govhub:rl:*`` in the Redis it is given) before each request; they are not what is measured.
Every submit must come back ``completed``
with every check passed — the whole approval: rules, name reservation, credit code, a sealed
license, notifications queued — or the run fails. Submits run one at a time after a warm-up; a
bare-Sanic hello-world is timed in the same run the same way, for scale.
Target: p95 under one second.
"""
from __future__ import annotations

import argparse
import itertools
import secrets
import sys
import time

import httpx

from bench.servers import (
    DEFAULT_REDIS,
    ROOT,
    bare_sanic,
    free_port,
    hub_env,
    percentile,
    recreate_database,
    serving,
    table,
    write_results,
)

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_instant_bench"  # dropped and re-created
MATTER = "330106-NAT-0023"
TARGET_P95_MS = 1000.0
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WORD = "春夏秋冬梅兰竹菊松柏山水云月星辰金木火土东南西北明清安康福禄寿喜"


def fresh_database(url: str, redis_url: str) -> None:
    import subprocess

    recreate_database(url)
    env = hub_env(url, redis_url)
    for command in ("migrate", "seed"):
        subprocess.run([sys.executable, "-m", "bff.cli", command], cwd=ROOT, env=env, check=True,
                       capture_output=True, timeout=300)


def names(count: int) -> list[str]:
    words = ("".join(w) for w in itertools.product(WORD, repeat=3))
    return [f"西湖区{next(words)}鲜花店" for _ in range(count)]


def citizen(http: httpx.Client, hub: str, mock: str) -> dict:
    code = http.post(f"{mock}/_mock/wechat/login", json={"user": "alice"}).json()["code"]
    session = http.post(f"{hub}/wx/v1/session", json={"code": code}).json()
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    named = http.post(f"{hub}/wx/v1/me/real-name", headers=headers,
                      json={"name": "张丽", "id_number": "110105199003070017"}).json()
    if named.get("session"):
        headers = {"Authorization": f"Bearer {named['session']['access_token']}"}
    return headers


class Limits:
    """The citizen's rate-limit buckets, emptied between requests (see the module docstring)."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self.redis = redis.Redis.from_url(redis_url)

    def clear(self) -> None:
        keys = list(self.redis.scan_iter("govhub:rl:*"))
        if keys:
            self.redis.delete(*keys)


LIMITS: Limits | None = None


def upload(http: httpx.Client, hub: str, headers: dict) -> str:
    LIMITS.clear()
    answer = http.post(f"{hub}/wx/v1/applications/materials", headers=headers,
                       files={"file": ("m.pdf", PDF, "application/pdf")})
    answer.raise_for_status()
    return answer.json()["id"]


def time_submits(http: httpx.Client, hub: str, headers: dict, count: int, warmup: int) -> list[float]:
    prepared = [(name, upload(http, hub, headers), upload(http, hub, headers)) for name in names(count + warmup)]
    timings = []
    for i, (name, id_card, premises) in enumerate(prepared):
        body = {"matter_code": MATTER, "materials": [{"name": "居民身份证", "upload_id": id_card},
                                                     {"name": "经营场所使用证明", "upload_id": premises}],
                "form": {"business_name": name, "operator_name": "张丽", "address": "杭州市西湖区北山街道曙光路1号",
                         "address_region_code": "330106002000", "business_scope": ["花卉绿植租借与代管理"],
                         "registered_capital_fen": 5_000_000, "composition": "个人经营"}}
        LIMITS.clear()
        started = time.perf_counter()
        answer = http.post(f"{hub}/wx/v1/applications", json=body,
                           headers={**headers, "Idempotency-Key": secrets.token_hex(12)})
        took = (time.perf_counter() - started) * 1000
        detail = answer.json()
        if answer.status_code != 201 or detail.get("status") != "completed":
            raise SystemExit(f"submit {i} was not approved at once: {answer.status_code} {detail}")
        if i >= warmup:
            timings.append(took)
    return sorted(timings)


def time_bare(http: httpx.Client, url: str, count: int) -> list[float]:
    timings = []
    for _ in range(count):
        started = time.perf_counter()
        http.get(url).raise_for_status()
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)


def summary(timings: list[float]) -> dict:
    return {"count": len(timings), "p50_ms": round(percentile(timings, 0.50), 1),
            "p95_ms": round(percentile(timings, 0.95), 1), "p99_ms": round(percentile(timings, 0.99), 1),
            "max_ms": round(timings[-1], 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS)
    args = parser.parse_args()

    global LIMITS
    LIMITS = Limits(args.redis_url)
    fresh_database(args.database_url, args.redis_url)
    mock_port = free_port()
    env = hub_env(args.database_url, args.redis_url, free_port())
    env.update(GOVHUB_MOCK_PORT=str(mock_port), GOVHUB_SCHEDULER_ENABLED="false")
    hub_url = f"http://127.0.0.1:{env['GOVHUB_PORT']}"
    mock_url = f"http://127.0.0.1:{mock_port}"
    with serving([sys.executable, "-m", "miniprogram_mock", "serve", "--port", str(mock_port)], dict(env),
                 f"{mock_url}/_mock/health"), \
            serving([sys.executable, "-m", "bff.cli", "serve"], env, f"{hub_url}/healthz"), \
            bare_sanic() as (bare_url, _), httpx.Client(timeout=30) as http:
        headers = citizen(http, hub_url, mock_url)
        instant = summary(time_submits(http, hub_url, headers, args.count, args.warmup))
        bare = summary(time_bare(http, f"{bare_url}/", args.count))
    rows = [["instant-approval submit (HTTP)", instant["count"], instant["p50_ms"], instant["p95_ms"],
             instant["p99_ms"], instant["max_ms"]],
            ["bare Sanic GET / (same run)", bare["count"], bare["p50_ms"], bare["p95_ms"], bare["p99_ms"],
             bare["max_ms"]]]
    print(table(["", "n", "p50 ms", "p95 ms", "p99 ms", "max ms"], rows))
    verdict = "met" if instant["p95_ms"] < TARGET_P95_MS else "MISSED"
    print(f"target p95 < {TARGET_P95_MS:.0f} ms: {verdict}")
    path = write_results("instant_approval", {"database": "postgresql", "instant_submit": instant,
                                              "bare_sanic_get": bare, "target_p95_ms": TARGET_P95_MS})
    print(f"written to {path.relative_to(ROOT)}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
