"""The data-sharing journey over real HTTP (docs/sharing.md): a department (the Beijing platform)
finds the public-security bureau's household extract in the catalog and asks for it; the bureau
approves fewer fields than asked; the department calls through the exchange (X-Road's REST
protocol, ``/r1/...``) and checks ``X-Road-Request-Hash`` against its own request; the citizen
sees the use in their data tracker.

Signs as the nodes by the documented scheme (docs/nodes.md) itself and computes the request hash
by the documented rule: it imports nothing of the hub.
"""
from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import serialization

from miniprogram_mock.fund_journey import PREFIX, _Walk
from miniprogram_mock.journey import JourneyFailed
from miniprogram_mock.license_journey import node_headers
from miniprogram_mock.users import DEMO_IDENTITIES

STEPS = 6
SERVICE = ("bj-psb", "household-register-extract")
HASHED = ("content-type", "x-road-client", "x-road-id", "x-road-issue", "x-road-service", "x-road-userid")


def request_hash(method: str, target: str, headers: dict[str, str], body: bytes = b"") -> str:
    """X-Road-Request-Hash as docs/sharing.md defines it, computed on the consumer's side."""
    lowered = {k.lower(): v for k, v in headers.items()}
    lines = [f"{method} {target}"] + [f"{n}: {lowered[n]}" for n in HASHED if n in lowered]
    head = hashlib.sha512("".join(line + "\r\n" for line in lines).encode()).digest()
    digest = hashlib.sha512(head + hashlib.sha512(body).digest()).digest() if body else head
    return base64.b64encode(digest).decode()


def run_sharing_journey(base_url: str = "http://127.0.0.1:8000", mock_url: str = "http://127.0.0.1:8001", *,
                        consumer: str = "beijing-platform",
                        consumer_key: Path = Path("devkeys/demo_node_beijing_private.pem"),
                        provider_key: Path = Path("devkeys/demo_node_beijing_psb_private.pem"),
                        user: str = "alice", out: Callable[[str], Any] = print) -> dict:
    """ask -> approve -> call -> tracker; returns what each step produced."""
    keys = {consumer: _key(consumer_key), SERVICE[0]: _key(provider_key)}
    identity, seen = DEMO_IDENTITIES[user], {}
    with httpx.Client(timeout=15.0) as http:
        walk = _SharingWalk(http, base_url.rstrip("/"), mock_url.rstrip("/"), out)

        def signed(what: str, node: str, method: str, path: str, *, json_body: dict | None = None,
                   expect: int = 200, extra: dict | None = None, query: str = "") -> httpx.Response:
            body = b"" if json_body is None else httpx.Request("POST", "/", json=json_body).content
            target = path + (f"?{'&'.join(sorted(query.split('&')))}" if query else "")
            headers = {**node_headers(keys[node], node, method, target, body), **(extra or {})}
            response = http.request(method, f"{walk.base}{path}" + (f"?{query}" if query else ""), content=body,
                                    headers=headers)
            if response.status_code != expect:
                raise JourneyFailed(walk.step, what, response.status_code, response.text[:500])
            return response

        walk.next()
        catalog = signed("catalog", consumer, "GET", "/gov/v1/sharing/services").json()["items"]
        service = next(s for s in catalog if (s["provider"], s["code"]) == SERVICE)
        walk.say(f"{consumer} found “{service['title']}” ({service['service_id']}): "
                 + ", ".join(f"{f['name']} [{f['classification']}]" for f in service["fields"]))

        walk.next()
        asked = signed("ask for access", consumer, "POST", "/gov/v1/sharing/grants", expect=201, json_body={
            "provider": SERVICE[0], "service_code": SERVICE[1], "fields": ["name", "sex", "household_address"],
            "purpose": "办理户籍类政务服务时核实申请人户籍信息", "legal_basis": "《政务服务数据共享管理办法》",
            "expected_daily_calls": 500}).json()
        walk.say(f"asked for {', '.join(asked['fields_requested'])}: grant {asked['id']} {asked['status']}")

        walk.next()
        approved = signed("approve", SERVICE[0], "POST", f"/gov/v1/sharing/grants/{asked['id']}/approve",
                          json_body={"fields": ["name", "sex"], "quota_per_minute": 120, "valid_days": 365}).json()
        seen["grant"] = approved
        walk.say(f"{SERVICE[0]} approved {', '.join(approved['fields_granted'])} "
                 f"({approved['quota_per_minute']}/min until {approved['valid_until'][:10]})")

        walk.next()
        path, query = f"/r1/{service['service_id']}/extract", f"id_number={identity.id_number}"
        x_road = {"X-Road-Client": f"CN/GOV/{consumer}/service-desk", "X-Road-Issue": quote("户籍业务受理-0001"),
                  "X-Road-UserId": "CN-staff-0001"}
        answer = signed("exchange call", consumer, "GET", path, query=query, extra=x_road)
        mine = request_hash("GET", f"{path}?{query}", dict(answer.request.headers))
        if answer.headers["X-Road-Request-Hash"] != mine:
            raise JourneyFailed(walk.step, "request hash", None, {"hub": answer.headers["X-Road-Request-Hash"],
                                                                  "mine": mine})
        seen["answer"], seen["request_id"] = answer.json(), answer.headers["X-Road-Request-Id"]
        walk.say(f"exchange answered {sorted(seen['answer'])} (request {seen['request_id']}; request hash matches)")

        walk.next()
        code = walk.call("wx.login", "POST", f"{walk.mock}/_mock/wechat/login", json={"user": user})
        walk.use(walk.hub("log in", "POST", f"{PREFIX}/session", json={"code": code["code"]}))
        if walk.hub("me", "GET", f"{PREFIX}/me")["assurance"] < 2:  # real name once is enough
            named = walk.hub("real name", "POST", f"{PREFIX}/me/real-name",
                             json={"name": identity.name, "id_number": identity.id_number})
            if named.get("session"):
                walk.use(named["session"])
        walk.say(f"{user} logged in on WeChat with real name")

        walk.next()
        uses = walk.hub("data uses", "GET", f"{PREFIX}/me/data-uses", params={"department": consumer})["items"]
        if not uses:
            raise JourneyFailed(walk.step, "tracker", None, {"detail": "the use is not in the tracker"})
        seen["use"] = uses[0]
        walk.say(f"tracker: {uses[0]['department_name']} read {', '.join(uses[0]['fields'])} "
                 f"via “{uses[0]['service_title']}” for “{uses[0]['purpose']}” ({uses[0]['issue']})")
        return seen


class _SharingWalk(_Walk):
    def say(self, line: str) -> None:
        self.out(f"[{self.step}/{STEPS}] sharing: {line}")


def _key(path: Path):
    return serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
