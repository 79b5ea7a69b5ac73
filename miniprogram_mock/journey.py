"""Scripted citizen journeys: what a mini-program or the app does, step by step, over real HTTP.

The journey talks to the hub (BFF) like a client would and to the mock like the citizen's phone
would. Any unexpected answer stops it with ``JourneyFailed`` carrying the hub's problem document.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx

from miniprogram_mock.users import DEMO_IDENTITIES, phone_of

PREFIXES = {"wechat": "/wx", "alipay": "/alipay", "app": "/app"}
STEPS = 7


def hub_time() -> float:
    """The time the hub runs on: the wall clock moved by ``GOVHUB_CLOCK_OFFSET`` (a demo or a test run
    "at" another date). Signed requests and offline checks must agree with the hub's clock."""
    return time.time() + float(os.environ.get("GOVHUB_CLOCK_OFFSET") or 0)


def hub_now() -> datetime:
    return datetime.fromtimestamp(hub_time(), timezone.utc)


class JourneyFailed(Exception):
    def __init__(self, step: int, what: str, status: int | None, problem: Any) -> None:
        super().__init__(f"step {step} ({what}) failed: HTTP {status}")
        self.step, self.what, self.status, self.problem = step, what, status, problem


def mask_id_number(value: str) -> str:
    """Region code (first six) and last four only, as every screen of the hub shows it."""
    if "*" in value or len(value) < 12:
        return value
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def _problem(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text


class _Journey:
    def __init__(
        self, http: httpx.Client, hub: str, mock: str, channel: str, out: Callable[[str], Any]
    ) -> None:
        self.http, self.hub, self.mock, self.out = http, hub.rstrip("/"), mock.rstrip("/"), out
        self.channel, self.prefix = channel, PREFIXES[channel]
        self.step = 0

    def say(self, line: str) -> None:
        self.out(f"[{self.step}/{STEPS}] {self.channel}: {line}")

    def call(
        self, what: str, method: str, url: str, *, expect: int, token: str | None = None, body: Any = None
    ) -> Any:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self.http.request(method, url, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise JourneyFailed(self.step, what, None, {"detail": f"cannot reach {url}: {exc!r}"}) from exc
        if response.status_code != expect:
            raise JourneyFailed(self.step, what, response.status_code, _problem(response))
        return response.json() if response.content else None

    def hub_url(self, path: str) -> str:
        return f"{self.hub}{self.prefix}/v1{path}"

    # --- the seven steps -------------------------------------------------------------------

    def get_login_code(self, user: str) -> dict:
        self.step = 1
        if self.channel == "wechat":
            code = self.call(
                "wx.login", "POST", f"{self.mock}/_mock/wechat/login", expect=200, body={"user": user}
            )["code"]
            self.say(f"wx.login as {user} gave code {code[:6]}…")
            return {"code": code}
        if self.channel == "alipay":
            code = self.call(
                "my.getAuthCode", "POST", f"{self.mock}/_mock/alipay/auth", expect=200, body={"user": user}
            )
            self.say(f"my.getAuthCode as {user} gave auth code {code['auth_code'][:6]}…")
            return {"auth_code": code["auth_code"]}
        phone = phone_of(user)
        self.sms_request(phone)
        sms = self.call("read SMS", "GET", f"{self.mock}/_mock/sms/{phone}", expect=200)
        self.say(f"SMS to {phone[:3]}****{phone[-4:]} carried code {sms['code']}")
        return {"phone": phone, "code": sms["code"]}

    def sms_request(self, phone: str) -> None:
        url = self.hub_url("/sms-codes")
        try:
            response = self.http.post(url, json={"phone": phone})
        except httpx.HTTPError as exc:
            raise JourneyFailed(
                self.step, "request SMS code", None, {"detail": f"cannot reach {url}: {exc!r}"}
            ) from exc
        if not response.is_success:
            raise JourneyFailed(self.step, "request SMS code", response.status_code, _problem(response))

    def log_in(self, credentials: dict) -> dict:
        self.step = 2
        session = self.call("log in", "POST", self.hub_url("/session"), expect=200, body=credentials)
        missing = {"access_token", "refresh_token", "expires_in", "token_type", "person"} - set(session)
        if missing or session["token_type"] != "Bearer":
            raise JourneyFailed(
                2,
                "log in",
                200,
                {"detail": f"session lacks {sorted(missing)} or is not Bearer", "body": session},
            )
        self.say(f"logged in, access token valid {session['expires_in']} s")
        return session

    def real_name(self, session: dict, user: str) -> dict:
        self.step = 3
        identity = DEMO_IDENTITIES.get(user)
        if identity is None:
            raise JourneyFailed(3, "real-name", None, {"detail": f"{user} has no demo identity"})
        body = {"name": identity.name, "id_number": identity.id_number}
        result = self.call(
            "real-name",
            "POST",
            self.hub_url("/me/real-name"),
            expect=200,
            token=session["access_token"],
            body=body,
        )
        if result.get("session"):  # assurance went up: the hub re-issued the tokens
            session = {**session, **result["session"]}
        self.say(
            f"real-name verified as {identity.name}{', new tokens issued' if result.get('session') else ''}"
        )
        return session

    def refresh(self, session: dict) -> dict:
        self.step = 4
        body = {"refresh_token": session["refresh_token"]}
        fresh = self.call("refresh", "POST", self.hub_url("/session/refresh"), expect=200, body=body)
        if not fresh.get("access_token") or not fresh.get("refresh_token"):
            raise JourneyFailed(4, "refresh", 200, {"detail": "refresh answer lacks tokens", "body": fresh})
        rotated = fresh["refresh_token"] != session["refresh_token"]
        self.say("tokens refreshed" + (" (refresh token rotated)" if rotated else ""))
        return {**session, **fresh}

    def me(self, session: dict) -> dict:
        self.step = 5
        me = self.call("read me", "GET", self.hub_url("/me"), expect=200, token=session["access_token"])
        person = me.get("person", me)
        id_number = next((str(v) for k, v in person.items() if "id_number" in k and v), "")
        shown = mask_id_number(id_number) if id_number else "(no id number shown)"
        self.say(f"me: {person.get('name_masked') or person.get('name', '?')} {shown} (assurance L{person.get('assurance', '?')})")
        return person

    def log_out(self, session: dict) -> None:
        self.step = 6
        self.call("log out", "DELETE", self.hub_url("/session"), expect=204, token=session["access_token"])
        self.say("logged out")
        self.step = 7
        self.call("old token refused", "GET", self.hub_url("/me"), expect=401, token=session["access_token"])
        self.say("the old access token now gets 401: logout took effect")


def run_login_journey(
    channel: str,
    base_url: str = "http://127.0.0.1:8000",
    mock_url: str = "http://127.0.0.1:8001",
    user: str = "alice",
    out: Callable[[str], Any] = print,
) -> dict:
    """Walk login -> real-name -> refresh -> me -> logout; return what the hub answered."""
    if channel not in PREFIXES:
        raise ValueError(f"channel must be one of {', '.join(PREFIXES)}")
    # the app binds its login to the device, as a real phone would send its device id
    headers = {"X-Device-Id": f"mock-device-{user}"} if channel == "app" else {}
    with httpx.Client(timeout=httpx.Timeout(15.0, connect=3.0), headers=headers) as http:
        journey = _Journey(http, base_url, mock_url, channel, out)
        first = journey.log_in(journey.get_login_code(user))
        session = journey.refresh(journey.real_name(first, user))
        person = journey.me(session)
        journey.log_out(session)
    return {"channel": channel, "user": user, "first_session": first, "session": session, "person": person}
