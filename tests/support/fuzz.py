"""Schemathesis over the hub's own OpenAPI, inside the test process: the cases schemathesis draws
are sent to the in-process app through the suite's ASGI client (the session's event loop, database
and Redis), as the caller each audience needs: a citizen per channel at L2 and at L3, an admin with
every role, a department node that signs each request, nobody for the public routes."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

import httpx
import requests

from bff.common.paths import SHAPES
from domain.delivery.models import Delivery
from domain.identity.models import SmsChallenge
from domain.nodes import signatures
from tests.support.admins import admin_headers, make_admin
from tests.support.applications import JPEG, PDF, TestNode, setup_catalog_and_nodes
from tests.support.citizens import ALICE, bearer, login_alipay, login_app, login_wechat, verify_real_name
from tests.support.clock import suite_clock
from tests.support.licenses import department, issue, signed

PREFIXES = {"wechat": "/wx/v1/", "alipay": "/alipay/v1/", "app": "/app/v1/", "admin": "/admin/v1/",
            "gov": "/gov/v1/"}
LOGINS = {"wechat": login_wechat, "alipay": login_alipay, "app": login_app}
FUZZ_ADMIN = "fuzz.root"
TARGET_ADMIN = "fuzz.target"  # the known username the fuzzer may change (never the one it uses)
ROLES = ("operator", "catalog_admin", "topic_editor")


def audience(path: str) -> str:
    """Which caller an operation is made by: the one of its prefix, else nobody (public)."""
    return next((name for name, prefix in PREFIXES.items() if path.startswith(prefix)), "public")


@dataclass
class Caller:
    """Headers to send as one kind of caller; a node signs each request instead."""

    name: str
    headers: dict = field(default_factory=dict)
    node: TestNode | None = None


@dataclass
class Known:
    """Real ids by path shape (bff/common/paths.py), so that some cases reach real records."""

    ids: dict[str, str] = field(default_factory=dict)

    def as_examples(self, spec: dict) -> None:
        """Each path parameter whose shape has a real id gets it as its example: schemathesis'
        examples phase then asks for real records and checks their full shapes."""
        label_of = {shape.description: label for label, shape in SHAPES.items()}
        for item in spec["paths"].values():
            for op in item.values():
                for param in op.get("parameters", []):
                    value = self.ids.get(label_of.get(param.get("description"), ""))
                    if param["in"] == "path" and value is not None:
                        param["example"] = int(value) if param["schema"]["type"] == "integer" else value


async def citizen(client, mock_url: str, channel: str) -> tuple[Caller, Caller]:
    """ALICE on ``channel``: verified (L2), and again after a passed face scan (L3)."""
    prefix = PREFIXES[channel].rstrip("/")
    session = await LOGINS[channel](client, mock_url)
    if session["person"]["assurance"] < 2:
        verified = await verify_real_name(client, prefix, session, ALICE)
        assert verified.status_code == 200, verified.text
        session = verified.json()["session"] or session
    device = {"X-Device-Id": "device-1"} if channel == "app" else {}
    level2 = {**bearer(session), **device}
    started = await client.post(f"{prefix}/me/face-verifications", headers=level2)
    assert started.status_code == 201, started.text
    scanned = await client.get(f"{prefix}/me/face-verifications/{started.json()['id']}", headers=level2)
    assert scanned.status_code == 200 and scanned.json()["passed"], scanned.text
    level3 = {**bearer(scanned.json()["session"]), **device}
    return Caller(f"{channel} L2", level2), Caller(f"{channel} L3", level3)


async def callers(client, resources, mock_url: str, accounts) -> dict[str, list[Caller]]:
    """Citizens, an admin with every role (and another account to change), nobody; the nodes come
    with the seed."""
    made: dict[str, list[Caller]] = {name: list(await citizen(client, mock_url, name)) for name in LOGINS}
    for username in (FUZZ_ADMIN, TARGET_ADMIN):
        await make_admin(accounts, username, *ROLES)
    made["admin"] = [Caller("admin", await admin_headers(client, FUZZ_ADMIN))]
    made["public"] = [Caller("anonymous")]
    return made


async def still_valid(client, resources, mock_url: str, made: dict[str, list[Caller]]) -> None:
    """Between operations: rate limits start afresh (Redis emptied, as between tests), and a caller
    an operation logged out (DELETE /session) logs in again (its SMS cooldown forgotten)."""
    await resources.redis.aio.flushdb()
    resources.topics.invalidate()
    await SmsChallenge.all().delete()
    for channel in LOGINS:
        prefix = PREFIXES[channel].rstrip("/")
        answers = [await client.get(f"{prefix}/me", headers=c.headers) for c in made[channel]]
        if any(answer.status_code == 401 for answer in answers):
            made[channel] = list(await citizen(client, mock_url, channel))
    if (await client.get("/admin/v1/me", headers=made["admin"][0].headers)).status_code == 401:
        made["admin"] = [Caller("admin", await admin_headers(client, FUZZ_ADMIN))]


async def seed(client, resources, made: dict[str, list[Caller]]) -> Known:
    """Matters and nodes, one application of ALICE's with its uploads, a license issued to her and a
    consent a department asked for, a published topic. The nodes that handle them are the gov callers."""
    nodes = await setup_catalog_and_nodes(resources)
    wechat = made["wechat"][0]
    uploads = [await _upload(client, wechat, data, name) for data, name in ((JPEG, "id.jpg"), (PDF, "合同.pdf"))]
    body = {"matter_code": "330100-NAT-0001", "form": {"amount_fen": 1200000, "bank_account": "6222020000000000001"},
            "materials": [{"name": "居民身份证", "upload_id": uploads[0]}, {"name": "购房合同", "upload_id": uploads[1]}]}
    submitted = await client.post("/wx/v1/applications", json=body,
                                  headers={**wechat.headers, "Idempotency-Key": "fuzz-seed"})
    assert submitted.status_code == 201, submitted.text
    psb = await department(resources, node="fuzz-psb")
    issued = await issue(client, psb)
    asked = await signed(client, psb, "POST", "/gov/v1/license-exchanges",
                         {"type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "核验身份"})
    assert asked.status_code == 403, asked.text
    consent = (await client.get("/wx/v1/license-consents", headers=wechat.headers)).json()["items"][0]
    made["gov"] = [Caller("handling node", node=nodes["zj"]), Caller("issuing department",
                                                                       node=TestNode(psb.node, psb.key))]
    delivery = await Delivery.all().order_by("id").first()
    return Known(ids={"application_number": submitted.json()["number"], "material_id": uploads[0],
                      "license_id": issued["id"], "consent_id": consent["id"], "matter_code": "330100-NAT-0001",
                      "topic_code": await _topic(client, made["admin"][0]), "admin_username": TARGET_ADMIN,
                      "delivery_id": str(delivery.id)})


async def _upload(client, caller: Caller, data: bytes, name: str) -> str:
    answer = await client.post("/wx/v1/applications/materials", headers=caller.headers,
                               files={"file": (name, data, "application/octet-stream")})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def _topic(client, admin: Caller) -> str:
    topic = {"code": "fuzz-topic", "title": "模糊测试专题", "channels": ["wechat", "alipay", "app", "pc"],
             "entries": [{"kind": "matter", "ref": "330100-NAT-0001"}]}
    created = await client.post("/admin/v1/topics", json=topic, headers=admin.headers)
    assert created.status_code == 201, created.text
    published = await client.post("/admin/v1/topics/fuzz-topic/publish", headers=admin.headers)
    assert published.status_code == 200, published.text
    return "fuzz-topic"


def build_request(client: httpx.AsyncClient, case, caller: Caller) -> httpx.Request:
    """The case as schemathesis would send it with ``requests``, handed to the ASGI client; a node
    signs exactly the bytes sent."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url))
    allowed = {"method", "url", "headers", "files", "data", "params", "json", "cookies"}
    prepared = requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}).prepare()
    body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
    headers = {**dict(prepared.headers), **caller.headers}
    request = client.build_request(prepared.method, prepared.url, headers=headers, content=body)
    if caller.node is not None:
        path, _, query = request.url.raw_path.decode().partition("?")
        request.headers.update(signatures.signed_headers(
            private_key=caller.node.key, node=caller.node.code, method=request.method, path=path,
            query_string=query, body=body, timestamp=int(suite_clock.timestamp())))
    return request


def as_text(value) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:300]
