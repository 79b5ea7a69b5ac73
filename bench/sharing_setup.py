"""Setting the exchange benchmark up (bench/sharing_bench.py): a fresh database, the consumer and
the provider registered, the service published and the grant approved over the hub's own API,
signed as the nodes (not timed)."""
from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec
from stdnum.cn import ric

from bench.servers import ROOT, recreate_database

DEVKEYS = ROOT / "devkeys"
CONSUMER, PROVIDER, SERVICE = "bj-court", "bj-psb", "household-register-extract"
ASKED_FIELDS = ["name", "sex", "birth_date", "household_address", "police_station"]  # of 10 published
QUOTA_PER_MINUTE = 60_000
ALICE = "110105199003070017"  # tests/support/citizens.py; a demo person of the stub


def fresh_database(url: str, env: dict[str, str]) -> None:
    recreate_database(url)
    cli(env, "migrate")


def cli(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          check=False, text=True, timeout=300)
    if check and done.returncode != 0:
        raise SystemExit(f"govhub {' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done


def register_nodes(env: dict[str, str], work: Path, stub_url: str) -> ec.EllipticCurvePrivateKey:
    from domain.nodes import signatures

    consumer_key = ec.generate_private_key(ec.SECP256R1())
    (work / "consumer_public.pem").write_text(signatures.public_key_pem(consumer_key.public_key()))
    cli(env, "nodes", "add", "--code", CONSUMER, "--kind", "department", "--name", "北京市朝阳区人民法院（基准测试）",
        "--region", "110105000000", "--public-key", str(work / "consumer_public.pem"))
    cli(env, "nodes", "add", "--code", PROVIDER, "--kind", "department", "--name", "北京市公安局",
        "--region", "110000000000", "--public-key", str(DEVKEYS / "demo_node_beijing_psb_public.pem"),
        "--endpoint", f"{stub_url}/nodes/{PROVIDER}")
    return consumer_key


def signed_call(http: httpx.Client, key, node: str, method: str, path: str, body: dict | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
    """One request to the hub signed as ``node`` (how a node's own system calls it)."""
    from domain.nodes import signatures

    content = json.dumps(body, ensure_ascii=False).encode() if body is not None else b""
    request = http.build_request(method, path, content=content, headers={
        **({"Content-Type": "application/json"} if body is not None else {}), **(headers or {})})
    wire_path, _, query = request.url.raw_path.decode().partition("?")
    request.headers.update(signatures.signed_headers(private_key=key, node=node, method=method,
                                                     path=wire_path, query_string=query, body=content,
                                                     timestamp=int(time.time())))
    return http.send(request)


def publish_and_grant(hub_url: str, consumer_key) -> str:
    from adapters.departments.stub.data_services import definition
    from domain.nodes import signatures

    provider_key = signatures.load_private_key((DEVKEYS / "demo_node_beijing_psb_private.pem").read_bytes())
    with httpx.Client(base_url=hub_url, timeout=30) as http:
        def ok(answer: httpx.Response, status: int) -> dict:
            if answer.status_code != status:
                raise SystemExit(f"{answer.request.method} {answer.request.url.path}: "
                                 f"{answer.status_code} {answer.text}")
            return answer.json()

        published = {k: v for k, v in definition(SERVICE).items() if k != "provider"}
        ok(signed_call(http, provider_key, PROVIDER, "POST", "/gov/v1/sharing/services", published), 201)
        asked = ok(signed_call(http, consumer_key, CONSUMER, "POST", "/gov/v1/sharing/grants", {
            "provider": PROVIDER, "service_code": SERVICE, "fields": ASKED_FIELDS,
            "purpose": "审理离婚诉讼案件核实当事人户籍", "legal_basis": "《中华人民共和国民事诉讼法》第六十七条",
            "expected_daily_calls": 100_000}), 201)
        approve = f"/gov/v1/sharing/grants/{asked['id']}/approve"
        approved = ok(signed_call(http, provider_key, PROVIDER, "POST", approve,
                                  {"quota_per_minute": QUOTA_PER_MINUTE, "valid_days": 30}), 200)
        if approved["status"] != "active":
            raise SystemExit(f"the grant is {approved['status']}, not active")
        return asked["id"]


def id_numbers(count: int) -> list[str]:
    """Beijing (朝阳区, 110105) ID numbers valid for stdnum.cn.ric, which the stub's bj-psb holds."""
    out = [ALICE]
    for i in range(count - 1):
        born = dt.date(1960, 1, 1) + dt.timedelta(days=i * 37 % (50 * 365))  # distinct for i < 18,250
        stem = f"110105{born:%Y%m%d}{i % 1000:03d}"
        out.append(stem + ric.calc_check_digit(stem + "0"))
    return out
