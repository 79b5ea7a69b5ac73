"""The housing fund journey over real HTTP, as the WeChat mini-program walks it (``journey fund``):

log in → real name → my fund accounts in every city → the rules of a withdrawal kind → start the
withdrawal (with a face scan bound to it) → the face SDK, and the verdict read once (L3) → submit
with an Idempotency-Key → the fund centre (the department stub) approves and pays → paid.

bob moved from Anhui to Zhejiang: his Hefei account has been sealed since he left, so he takes
its whole balance to his own bank card (离职提取). Imports nothing of the hub: it speaks the API
the mini-program speaks (docs/housing-fund.md).
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
STEPS = 8
CARDS = {"bob": "6217001002000000025", "alice": "6222021001000000015"}  # their own cards (docs/housing-fund.md)


class _Walk:
    def __init__(self, http: httpx.Client, base: str, mock: str, out: Callable[[str], Any]) -> None:
        self.http, self.base, self.mock, self.out = http, base, mock, out
        self.step, self.headers = 0, {}

    def say(self, line: str) -> None:
        self.out(f"[{self.step}/{STEPS}] fund: {line}")

    def next(self) -> None:
        self.step += 1

    def call(self, what: str, method: str, url: str, *, expect: int = 200, **options) -> Any:
        try:
            response = self.http.request(method, url, **options)
        except httpx.HTTPError as exc:
            raise JourneyFailed(self.step, what, None, {"detail": f"cannot reach {url}: {exc!r}"}) from exc
        if response.status_code != expect:
            raise JourneyFailed(self.step, what, response.status_code, _problem(response))
        return response.json() if response.content else None

    def hub(self, what: str, method: str, path: str, *, expect: int = 200, headers: dict | None = None, **options):
        return self.call(what, method, f"{self.base}{path}", expect=expect,
                         headers={**self.headers, **(headers or {})}, **options)

    def use(self, session: dict) -> None:
        self.headers = {"Authorization": f"Bearer {session['access_token']}"}


def run_fund_journey(base_url: str, mock_url: str, *, user: str = "bob", out: Callable[[str], Any] = print,
                     timeout: float = 60.0, submit: bool = True, wait: bool = True) -> dict:
    """Walk the journey; answers what it saw (accounts, the withdrawal as submitted and as settled)."""
    with httpx.Client(timeout=15.0) as http:
        walk = _Walk(http, base_url.rstrip("/"), mock_url.rstrip("/"), out)
        seen: dict[str, Any] = {}
        walk.next()
        code = walk.call("wx.login", "POST", f"{walk.mock}/_mock/wechat/login", json={"user": user})
        walk.use(walk.hub("log in", "POST", f"{PREFIX}/session", json={"code": code["code"]}))
        identity = DEMO_IDENTITIES[user]
        named = walk.hub("real name", "POST", f"{PREFIX}/me/real-name",
                         json={"name": identity.name, "id_number": identity.id_number})
        if named.get("session"):
            walk.use(named["session"])
        walk.say(f"{user} logged in on WeChat and verified real name as {identity.name}")

        walk.next()
        accounts = seen["accounts"] = walk.hub("accounts", "GET", f"{PREFIX}/housing-fund/accounts")
        for account in accounts["accounts"]:
            walk.say(f"{account['centre_name']} {account['account_no_masked']}: {account['status_name']}, "
                     f"balance {account['balance_text']}")
        for centre in accounts["unreachable"]:
            walk.say(f"{centre['centre_name']}: unreachable ({centre['message']})")
        account = _pick(walk, accounts["accounts"])

        walk.next()
        kind = "leaving" if account["status"] == "sealed" else "renting"
        asked = {"kind": kind, "centre_code": account["centre_code"], "account_no": account["account_no"]}
        rules = walk.hub("eligibility", "POST", f"{PREFIX}/housing-fund/eligibility", json=asked)
        for check in rules["checks"]:
            walk.say(f"{'✓' if check['passed'] else '✗'} {check['title']}: {check['message']}")
        if not rules["eligible"]:
            raise JourneyFailed(walk.step, "eligibility", None, {"detail": "not eligible", "checks": rules["checks"]})

        walk.next()
        amount = min(rules["available_fen"], 150_000) if kind == "renting" else rules["available_fen"]
        started = walk.hub("start withdrawal", "POST", f"{PREFIX}/housing-fund/withdrawals", expect=201,
                           json={**asked, "amount_fen": amount, "bank_card_no": CARDS[user]})
        withdrawal, face = started["withdrawal"], started["face"]
        walk.say(f"withdrawal {withdrawal['id']} for {withdrawal['amount_text']} to {withdrawal['card_masked']}: "
                 f"{withdrawal['status_name']} (face session {face['id']})")

        walk.next()  # wx.startFacialRecognitionVerify runs on the device; then the verdict, read once
        verdict = walk.hub("face result", "GET", face["result"])
        if not verdict["passed"]:
            raise JourneyFailed(walk.step, "face", None, {"detail": verdict["reason"]})
        walk.use(verdict["session"])
        walk.say("face scan passed: an L3 session bound to this withdrawal's scan")
        seen["withdrawal"], seen["headers"] = withdrawal, dict(walk.headers)
        if not submit:
            return seen

        walk.next()
        key = secrets.token_hex(8)
        path = f"{PREFIX}/housing-fund/withdrawals/{withdrawal['id']}"
        submitted = seen["submitted"] = walk.hub("submit", "POST", f"{path}/submission",
                                                 headers={"Idempotency-Key": key})
        walk.say(f"submitted to the fund centre: {submitted['status_name']}")
        if not wait:
            return seen

        walk.next()
        settled = seen["settled"] = _wait_settled(walk, path, timeout)
        walk.say(f"{settled['status_name']}: {settled['amount_text']} to {settled['card_masked']}"
                 + (f" ({settled['reason']})" if settled.get("reason") else ""))

        walk.next()
        after = walk.hub("accounts", "GET", f"{PREFIX}/housing-fund/accounts")
        seen["after"] = after
        mine = next((a for a in after["accounts"] if a["account_no"] == account["account_no"]), None)
        walk.say(f"{account['centre_name']} balance now {mine['balance_text'] if mine else 'unknown'}")
        return seen


def _pick(walk: _Walk, accounts: list[dict]) -> dict:
    """A sealed account (its whole balance may be taken), else a normal one."""
    for status in ("sealed", "normal"):
        for account in accounts:
            if account["status"] == status and account["balance_fen"] > 0:
                return account
    raise JourneyFailed(walk.step, "accounts", None, {"detail": "no account with a balance"})


def _wait_settled(walk: _Walk, path: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        shown = walk.hub("status", "GET", path)
        if shown["status"] in ("paid", "failed", "returned"):
            return shown
        if time.monotonic() > deadline:
            raise JourneyFailed(walk.step, "status", None, {"detail": f"still {shown['status']} after {timeout} s"})
        time.sleep(0.5)
