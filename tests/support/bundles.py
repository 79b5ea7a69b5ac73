"""Bundles test data and drivers: the demo bundles seeded for real, the department stub as a real
process answering as zj-platform, and the in-process hub served on a real socket so the stub's
signed callbacks and license issuance reach it over HTTP."""
from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from domain.bundles.demo import seed_bundles
from domain.identity.models import Person
from tests.support.citizens import ALICE, BOB
from tests.support.department_stub import NODE, NODE_PUBLIC_KEY

NEWBORN_FORM = {
    "child_name": "王小丽", "child_sex": "女", "birth_date": "2026-11-20", "birth_place": "浙江省妇产科医院",
    "certificate_number": "Q330106202611200001", "mother_name": ALICE["name"], "mother_id_number": ALICE["id_number"],
    "father_name": BOB["name"], "father_id_number": BOB["id_number"], "household_head": BOB["name"],
    "household_address": "浙江省杭州市西湖区文三路1号", "mailing_address": "浙江省杭州市西湖区文三路1号",
    "phone": "13800000001",
}
OPENING_FORM = {
    "company_name": "杭州西湖云帆科技有限公司", "company_type": "有限责任公司（自然人独资）",
    "registered_capital_fen": 10_000_000, "address": "浙江省杭州市西湖区文三路90号", "business_scope": "软件开发；技术服务",
    "seal_set": "公章、财务专用章、发票专用章", "invoice_kind": "增值税普通发票", "tax_contact": "张丽",
    "employees": 3, "deposit_rate_percent": 12, "bank_name": "中国工商银行杭州西湖支行", "appointment_date": "2026-12-01",
    "phone": "13800000001",
}
CLOSING_FORM = {"reason": "经营期满，股东决定解散", "liquidation_completed_on": "2026-11-01", "phone": "13800000001"}


class HubSocket:
    """The in-process hub (ASGI) behind a real listening socket: each connection carries one
    request, forwarded to the app as is (path, headers, body) and answered with its response."""

    def __init__(self, app) -> None:
        self.app = app

    async def __aenter__(self) -> HubSocket:
        transport = httpx.ASGITransport(app=self.app, client=("127.0.0.1", 50002))
        self.http = httpx.AsyncClient(transport=transport, base_url="http://hub.test")
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc_info) -> None:
        self._server.close()
        await self._server.wait_closed()
        await self.http.aclose()

    async def _handle(self, reader, writer) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target, _version = head[0].split(" ")
            headers = [tuple(part.strip() for part in line.split(":", 1)) for line in head[1:] if line]
            length = int(next((v for k, v in headers if k.lower() == "content-length"), "0"))
            body = await reader.readexactly(length)
            forwarded = [(k, v) for k, v in headers if k.lower() not in ("host", "connection", "content-length")]
            answer = await self.http.request(method, target, content=body, headers=forwarded)
            payload = answer.content
            writer.write(f"HTTP/1.1 {answer.status_code} X\r\nContent-Type: {answer.headers.get('content-type', '')}\r\n"
                         f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode() + payload)
            await writer.drain()
        finally:
            writer.close()


async def setup_bundles(resources, stub_endpoint: str) -> None:
    """The demo bundles as ``govhub seed`` makes them, with zj-platform delivering to the stub."""
    services = resources
    await services.regions.seed_regions()
    await services.nodes.register(code=NODE, kind="province", name="浙江政务服务网", region_code="330000000000",
                                     public_key_pem=NODE_PUBLIC_KEY.read_text(), endpoint_url=stub_endpoint)
    await seed_bundles(services.bundles, services.catalog, services.seals)


async def citizen(resources, who: dict = ALICE) -> str:
    """A person who passed real name (L2) through the identity service."""
    public_id = f"p_{uuid.uuid4().hex[:20]}"
    await Person.create(public_id=public_id, assurance=1)
    await resources.identity.verify_real_name(person_id=public_id, channel="app", name=who["name"],
                                                          id_number=who["id_number"])
    return public_id


async def drive(resources, person_id: str, number: str, *, until, timeout: float = 30.0):
    """Run the relay and the bundle job as the scheduler would, until ``until(run)`` holds."""
    bundles, delivery = resources.bundles, resources.delivery
    deadline = time.monotonic() + timeout
    while True:
        await delivery.drain(batch=100, budget_seconds=2)
        await bundles.advance_due()
        run = await bundles.run(person_id=person_id, number=number)
        if until(run):
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"bundle {number} did not get there: "
                                 f"{run.status} {[(s.key, s.status) for s in run.steps]}")
        await asyncio.sleep(0.1)


def statuses(run) -> dict[str, str]:
    return {s.key: s.status for s in run.steps}
