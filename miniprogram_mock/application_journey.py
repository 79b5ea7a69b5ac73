"""Application journeys over real HTTP, as the WeChat mini-program walks them:

- ``apply``: log in → real name → consent to progress messages (wx.requestSubscribeMessage) →
  upload → apply for 失业登记 → the department (its stub) accepts, reviews, approves, completes →
  the progress messages are seen at the mock WeChat server;
- ``instant``: the same citizen registers a sole proprietorship (个体工商户设立登记) → approved
  within the request (秒批): every check passed, a credit code, the business license in the wallet,
  one message at the mock WeChat server.

Imports nothing of the hub: it speaks the API the mini-program speaks (docs/notifications.md,
docs/instant-approval.md).
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx

from miniprogram_mock.journey import JourneyFailed, _problem
from miniprogram_mock.users import DEMO_IDENTITIES

PREFIX = "/wx/v1"
APPLY_MATTER = "330106-NAT-0017"  # 失业登记 in 西湖区: handled by zj-platform (the department stub)
INSTANT_MATTER = "330106-NAT-0023"  # 个体工商户设立登记 in 西湖区
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
WORD_CHARACTERS = "春夏秋冬梅兰竹菊松柏山水云月星辰"  # a fresh 字号 per run: the name must be free


class _Walk:
    def __init__(self, http: httpx.Client, hub: str, mock: str, name: str, steps: int, out: Callable[[str], Any]):
        self.http, self.hub, self.mock, self.name, self.steps, self.out = http, hub, mock, name, steps, out
        self.step, self.headers = 0, {}

    def say(self, line: str) -> None:
        self.out(f"[{self.step}/{self.steps}] {self.name}: {line}")

    def call(self, what: str, method: str, url: str, *, expect: int, **options) -> Any:
        try:
            response = self.http.request(method, url, **options)
        except httpx.HTTPError as exc:
            raise JourneyFailed(self.step, what, None, {"detail": f"cannot reach {url}: {exc!r}"}) from exc
        if response.status_code != expect:
            raise JourneyFailed(self.step, what, response.status_code, _problem(response))
        return response.json() if response.content else None

    def hub_call(self, what: str, method: str, path: str, *, expect: int = 200, **options) -> Any:
        headers = {**self.headers, **options.pop("headers", {})}
        return self.call(what, method, f"{self.hub}{PREFIX}{path}", expect=expect, headers=headers, **options)

    def fail(self, what: str, detail: Any) -> None:
        raise JourneyFailed(self.step, what, None, {"detail": detail})

    # --- shared steps ------------------------------------------------------------------------

    def log_in_with_real_name(self, user: str) -> str:
        """wx.login → session → real name; answers the user's openid (what messages are sent to)."""
        code = self.call("wx.login", "POST", f"{self.mock}/_mock/wechat/login", expect=200, json={"user": user})
        session = self.hub_call("log in", "POST", "/session", json={"code": code["code"]})
        self.headers = {"Authorization": f"Bearer {session['access_token']}"}
        identity = DEMO_IDENTITIES[user]
        named = self.hub_call("real name", "POST", "/me/real-name",
                              json={"name": identity.name, "id_number": identity.id_number})
        if named.get("session"):
            self.headers = {"Authorization": f"Bearer {named['session']['access_token']}"}
        openid = self.call("user", "GET", f"{self.mock}/_mock/users/{user}", expect=200)["wechat"]["openid"]
        self.say(f"{user} logged in on WeChat and verified real name as {identity.name}")
        return openid

    def consent(self, taps: int) -> None:
        """The citizen accepts the progress template ``taps`` times (one message each)."""
        preferences = self.hub_call("preferences", "GET", "/me/notification-preferences")
        template = preferences["subscribe_template_id"]
        for _ in range(taps):  # what wx.requestSubscribeMessage answered, reported to the hub
            granted = self.hub_call("consent", "POST", "/me/subscriptions", json={"results": {template: "accept"}})
        self.say(f"wx.requestSubscribeMessage accepted {taps}× for {template}: "
                 f"{granted['subscriptions'][0]['remaining']} message(s) allowed")

    def upload(self, slot: str) -> dict:
        answer = self.hub_call("upload", "POST", "/applications/materials", expect=201,
                               files={"file": (f"{slot}.pdf", PDF, "application/pdf")})
        return {"name": slot, "upload_id": answer["id"]}

    def submit(self, matter: str, form: dict, materials: list[dict]) -> dict:
        return self.hub_call("submit", "POST", "/applications", expect=201,
                             headers={"Idempotency-Key": secrets.token_hex(12)},
                             json={"matter_code": matter, "form": form, "materials": materials})

    def messages_at_wechat(self, openid: str, number: str, count: int, timeout: float) -> list[dict]:
        """The subscribe messages about ``number`` the mock WeChat server received (waits for the relay)."""
        deadline = time.monotonic() + timeout
        while True:
            received = self.call("messages", "GET", f"{self.mock}/_mock/wechat/messages", expect=200,
                                 params={"touser": openid})["messages"]
            about = [m for m in received if m["data"]["character_string1"]["value"] == number]
            if len(about) >= count or time.monotonic() > deadline:
                return about
            time.sleep(0.3)


def run_apply_journey(base_url: str = "http://127.0.0.1:8000", mock_url: str = "http://127.0.0.1:8001", *,
                      user: str = "alice", timeout: float = 60.0, out: Callable[[str], Any] = print) -> dict:
    """log in → consent → apply → the department accepts … completes → the messages at WeChat."""
    with httpx.Client(timeout=httpx.Timeout(15.0, connect=3.0)) as http:
        walk = _Walk(http, base_url.rstrip("/"), mock_url.rstrip("/"), "apply", 5, out)
        walk.step = 1
        openid = walk.log_in_with_real_name(user)
        walk.step = 2
        walk.consent(4)
        walk.step = 3
        app = walk.submit(APPLY_MATTER, {"last_employer": "杭州某科技有限公司", "phone": "13800000001"},
                          [walk.upload("居民身份证")])
        number = app["number"]
        walk.say(f"applied for {app['matter_name']}: {number}, {app['status_name']}, handled by {app['node_name']}")
        walk.step = 4
        deadline = time.monotonic() + timeout
        while (detail := walk.hub_call("detail", "GET", f"/applications/{number}"))["status"] != "completed":
            if time.monotonic() > deadline:
                walk.fail("department", f"still {detail['status']} after {timeout} s: is the relay and stub running?")
            time.sleep(0.3)
        walk.say("the department " + " → ".join(step["title"] for step in detail["timeline"][1:]))
        walk.step = 5
        messages = walk.messages_at_wechat(openid, number, 4, timeout)
        if len(messages) < 4:
            walk.fail("messages", f"{len(messages)} message(s) at WeChat, 4 expected")
        walk.say("WeChat delivered: " + "、".join(m["data"]["phrase3"]["value"] for m in messages))
    return {"number": number, "detail": detail, "messages": messages}


def run_instant_journey(base_url: str = "http://127.0.0.1:8000", mock_url: str = "http://127.0.0.1:8001", *,
                        user: str = "alice", timeout: float = 60.0, out: Callable[[str], Any] = print) -> dict:
    """log in → consent → register a sole proprietorship → approved at once → license, message."""
    identity = DEMO_IDENTITIES[user]
    word = identity.name + "".join(secrets.choice(WORD_CHARACTERS) for _ in range(3))
    with httpx.Client(timeout=httpx.Timeout(15.0, connect=3.0)) as http:
        walk = _Walk(http, base_url.rstrip("/"), mock_url.rstrip("/"), "instant", 5, out)
        walk.step = 1
        openid = walk.log_in_with_real_name(user)
        walk.step = 2
        walk.consent(1)
        walk.step = 3
        form = {"business_name": f"西湖区{word}鲜花店", "operator_name": identity.name,
                "address": "杭州市西湖区北山街道曙光路1号", "address_region_code": "330106002000",
                "business_scope": ["花卉绿植租借与代管理"], "registered_capital_fen": 5_000_000,
                "composition": "个人经营"}
        started = time.perf_counter()
        app = walk.submit(INSTANT_MATTER, form, [walk.upload("居民身份证"), walk.upload("经营场所使用证明")])
        took = time.perf_counter() - started
        review = app.get("instant_approval") or {}
        if app["status"] != "completed" or review.get("outcome") != "approved":
            walk.fail("instant approval", review or app)
        walk.say(f"{form['business_name']}: {app['status_name']} in {took * 1000:.0f} ms — {review['summary']}")
        for check in review["checks"]:
            walk.out(f"      {check['result_name']}  {check['title']}：{check['message']}")
        walk.step = 4
        wallet = walk.hub_call("wallet", "GET", "/licenses")["items"]
        if review["license_id"] not in {item["id"] for item in wallet}:
            walk.fail("wallet", "the business license is not in the wallet")
        walk.say(f"unified social credit code {review['credit_code']}; the business license is in the wallet")
        walk.step = 5
        messages = walk.messages_at_wechat(openid, app["number"], 1, timeout)
        if len(messages) != 1:
            walk.fail("messages", f"{len(messages)} message(s) at WeChat, 1 expected")
        walk.say(f"WeChat delivered one message: {messages[0]['data']['phrase3']['value']}，"
                 f"{messages[0]['data']['thing5']['value']}")
    return {"application": app, "messages": messages, "seconds": took}
