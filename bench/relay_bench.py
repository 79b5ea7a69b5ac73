"""Throughput of the outbox relay: deliveries per second from PostgreSQL to the department stub.

    python -m bench.relay_bench [--database-url URL] [--count 3000] [--concurrency 8,16,32] [--runs 3]

Each run enqueues COUNT deliveries to one node (``DeliveryService.enqueue``, one transaction each,
as the applications write them), then drains them with one relay (``DeliveryService.drain``: claim
a batch with FOR UPDATE SKIP LOCKED, send CONCURRENCY at a time through the real NodeSender —
signed, over HTTP — and record every attempt) to the department stub in its own process
(``--no-review``: it verifies, dedupes and stores, and calls nobody back). The figure is
deliveries recorded as delivered per second of draining. A check at the end asks the stub
that it processed each delivery once.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time

import httpx

from bench.servers import ROOT, ensure_database, free_port, table, write_results

DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_relay_bench"
NODE = "zj-platform"
DEVKEYS = ROOT / "devkeys"


class _NoNonces:
    """The relay never authenticates incoming requests: the registry's nonce store is unused."""

    async def claim(self, node_code: str, nonce: str, ttl_seconds: int) -> bool:
        raise AssertionError("not used by the relay")


def start_stub(port: int, log) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "adapters.departments.stub", "--port", str(port), "--no-review",
         "--hub-key", str(DEVKEYS / "hub_node_public.pem"),
         "--node", f"{NODE}={DEVKEYS / 'demo_node_zhejiang_private.pem'}"],
        cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/_stub/health", timeout=0.5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("the department stub did not start")


async def run(database_url: str, stub_url: str, count: int, concurrencies: list[int], runs: int) -> list[dict]:
    from tortoise import Tortoise, connections

    from adapters.departments.node_client import SignedNodeClient
    from adapters.departments.node_sender import NodeSender
    from bff import database
    from domain.delivery.rules import NODE_KINDS
    from domain.delivery.service import DeliveryService
    from domain.nodes.service import NodeRegistry
    from domain.shared.clock import Clock
    from domain.shared.vault import Vault

    await database.connect(database_url)
    conn = connections.get("default")
    await conn.execute_script("TRUNCATE deliveries, delivery_attempts, nodes RESTART IDENTITY CASCADE")
    registry = NodeRegistry(Clock(), _NoNonces())
    await registry.register(code=NODE, kind="province", name="浙江政务服务网", region_code="330000000000",
                            public_key_pem=(DEVKEYS / "demo_node_zhejiang_public.pem").read_text(),
                            endpoint_url=f"{stub_url}/nodes/{NODE}")
    hub_key = (DEVKEYS / "hub_node_private.pem").read_bytes()
    vault = Vault(data_key=os.urandom(32), lookup_key=os.urandom(32))  # the bench's own rows only
    results = []
    serial = 0
    try:
        for concurrency in concurrencies:
            for round_number in range(1, runs + 1):
                clock = Clock()
                sender = NodeSender(nodes=registry, now=clock.now,
                                    client_factory=lambda **o: SignedNodeClient(private_key_pem=hub_key, **o))
                relay = DeliveryService(clock=clock, vault=vault, senders={kind: sender for kind in NODE_KINDS},
                                        concurrency=concurrency, relay_name="bench")
                began = time.perf_counter()
                for _ in range(count):
                    serial += 1
                    await relay.enqueue(kind="node.application.submitted", target=NODE,
                                        payload=_payload(serial), dedupe_key=f"bench:{serial}")
                enqueue_s = time.perf_counter() - began
                began = time.perf_counter()
                report = await relay.drain(batch=200, budget_seconds=600)
                drain_s = time.perf_counter() - began
                await sender.aclose()
                results.append({"concurrency": concurrency, "round": round_number, "count": count,
                                "delivered": report.delivered, "retrying": report.retrying,
                                "parked": report.parked, "relay_per_s": report.delivered / drain_s,
                                "enqueue_per_s": count / enqueue_s})
                print(f"  concurrency {concurrency} round {round_number}: "
                      f"{results[-1]['relay_per_s']:,.0f} deliveries/s", flush=True)
    finally:
        await Tortoise.close_connections()
    return results


def _payload(serial: int) -> dict:
    """About the size of a real submission: a form of a dozen fields and two materials."""
    return {"number": f"330106-20261127-{serial:06d}", "matter_code": "330106-SC-0001", "matter_name": "个体工商户设立登记",
            "department_code": "330106-scjg", "region_code": "330106000000",
            "applicant": {"person_ref": f"p-{serial:08x}", "name_masked": "张*", "assurance": "L2"},
            "form": {f"field_{i}": f"演示值 {i} " * 3 for i in range(12)},
            "materials": [{"kind": "upload", "name": "身份证.jpg", "sha256": "0" * 64, "bytes": 180_000}] * 2,
            "submitted_at": "2026-11-27T10:00:00+08:00", "promised_due_on": "2026-12-04",
            "callback": f"/gov/v1/applications/330106-20261127-{serial:06d}/events"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--concurrency", default="8,16,32")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ensure_database(args.database_url)
    from bff import database

    database.migrate(args.database_url)
    port = free_port()
    with tempfile.TemporaryFile("w+") as log:
        stub = start_stub(port, log)
        try:
            results = asyncio.run(run(args.database_url, f"http://127.0.0.1:{port}", args.count,
                                      [int(c) for c in args.concurrency.split(",")], args.runs))
            seen = httpx.get(f"http://127.0.0.1:{port}/_stub/deliveries", timeout=30).json()
        finally:
            stub.terminate()
            stub.wait(timeout=10)
    once = all(row["processed"] == 1 for row in seen["deliveries"])
    rows = []
    for concurrency in sorted({r["concurrency"] for r in results}):
        mine = sorted(r["relay_per_s"] for r in results if r["concurrency"] == concurrency)
        rows.append([concurrency, mine[len(mine) // 2], mine[0], mine[-1],
                     sorted(r["enqueue_per_s"] for r in results if r["concurrency"] == concurrency)[len(mine) // 2]])
    print(table(["concurrency", "median deliveries/s", "min", "max", "enqueue/s"], rows))
    print(f"stub: {seen['unique']} unique deliveries, {seen['arrivals']} arrivals, each processed once: {once}")
    path = write_results("relay", {"count": args.count, "runs": results, "stub_unique": seen["unique"],
                                   "stub_arrivals": seen["arrivals"], "each_processed_once": once})
    print(f"written to {path}")
    return 0 if once else 1


if __name__ == "__main__":
    sys.exit(main())
