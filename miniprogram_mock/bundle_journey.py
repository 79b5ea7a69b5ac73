"""The newborn bundle (新生儿出生一件事) over real HTTP, with both parents on their own devices:

the mother logs in on the WeChat mini-program → real name → opens the one form (her name and ID
number pre-filled and locked) → submits it once → the birth medical certificate is checked by the
health department (the stub) → household registration waits for the father → the father, on the
mobile app (SMS login, real name), sees the confirmation and confirms → birth and household
registration, the social security card and medical insurance run step after step, the
vaccination record beside them → the certificates are in the mother's wallet.

Imports nothing of the hub: it speaks the API the mini-program and the app speak (docs/bundles.md).
"""
from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

import httpx

from miniprogram_mock.journey import JourneyFailed, _problem
from miniprogram_mock.users import DEMO_IDENTITIES, DEMO_PHONES

STEPS = 7


class _Device:
    """One parent's phone: a channel prefix and its session."""

    def __init__(self, http: httpx.Client, hub: str, prefix: str, headers: dict | None = None) -> None:
        self.http, self.hub, self.prefix, self.headers = http, hub, prefix, dict(headers or {})

    def call(self, step: int, what: str, method: str, path: str, *, expect: int = 200, **options) -> Any:
        url = path if path.startswith("http") else f"{self.hub}{self.prefix}{path}"
        headers = {**self.headers, **options.pop("headers", {})}
        try:
            response = self.http.request(method, url, headers=headers, **options)
        except httpx.HTTPError as exc:
            raise JourneyFailed(step, what, None, {"detail": f"cannot reach {url}: {exc!r}"}) from exc
        if response.status_code != expect:
            raise JourneyFailed(step, what, response.status_code, _problem(response))
        return response.json() if response.content else None

    def real_name(self, step: int, user: str) -> None:
        identity = DEMO_IDENTITIES[user]
        named = self.call(step, "real name", "POST", "/me/real-name",
                          json={"name": identity.name, "id_number": identity.id_number})
        if named.get("session"):
            self.headers["Authorization"] = f"Bearer {named['session']['access_token']}"


def _form(prefilled: dict, mother: str, father: str) -> dict:
    m, f = DEMO_IDENTITIES[mother], DEMO_IDENTITIES[father]
    values = {k: v for k, v in prefilled["values"].items() if k not in prefilled["locked"]}
    return {**values, "child_name": values.get("child_name", "王小丽"), "child_sex": values.get("child_sex", "女"),
            "birth_date": values.get("birth_date", "2026-11-20"), "birth_place": values.get("birth_place", "浙江省妇产科医院"),
            "certificate_number": values.get("certificate_number", f"Q330106{secrets.randbelow(10**12):012d}"),
            "mother_name": m.name, "mother_id_number": m.id_number, "father_name": f.name,
            "father_id_number": f.id_number, "household_head": f.name,
            "household_address": "浙江省杭州市西湖区文三路1号", "mailing_address": "浙江省杭州市西湖区文三路1号",
            "phone": DEMO_PHONES[mother]}


def _wait(step: int, device: _Device, number: str, until: Callable[[dict], bool], timeout: float,
          say: Callable[[str], None]) -> dict:
    deadline, seen = time.monotonic() + timeout, {}
    while True:
        run = device.call(step, "bundle progress", "GET", f"/bundle-runs/{number}")
        for s in run["steps"]:
            if seen.get(s["key"]) != s["status"]:
                seen[s["key"]] = s["status"]
                say(f"  {s['title']}: {s['status_name']}" + (f"（{s['failure']['reason']}）" if s.get("failure") else ""))
        if until(run):
            return run
        if run["status"] == "failed" or time.monotonic() > deadline:
            raise JourneyFailed(step, "bundle progress", None, {"detail": run})
        time.sleep(0.5)


def run_newborn_journey(hub: str, mock: str, *, mother: str = "alice", father: str = "bob",
                        out: Callable[[str], Any] = print, timeout: float = 120.0) -> dict:
    step = 0

    def say(line: str) -> None:
        out(f"[{step}/{STEPS}] newborn: {line}")

    with httpx.Client(timeout=15) as http:
        step = 1  # the mother: WeChat login and real name
        mom = _Device(http, hub, "/wx/v1")
        code = mom.call(step, "wx.login", "POST", f"{mock}/_mock/wechat/login", json={"user": mother})
        session = mom.call(step, "log in", "POST", "/session", json={"code": code["code"]})
        mom.headers["Authorization"] = f"Bearer {session['access_token']}"
        mom.real_name(step, mother)
        say(f"{mother} logged in on WeChat with real name")

        step = 2  # the one form, pre-filled
        prefilled = mom.call(step, "form", "GET", "/bundles/newborn/form")
        say("form pre-filled: " + ", ".join(f"{k}={v}" for k, v in prefilled["values"].items())
            + f"; locked: {', '.join(prefilled['locked'])}")

        step = 3  # submit once
        body = {"form": _form(prefilled, mother, father), "optional_steps": ["vaccination"]}
        key = {"Idempotency-Key": f"newborn-{secrets.token_hex(8)}"}
        run = mom.call(step, "submit", "POST", "/bundles/newborn/submissions", expect=201, json=body, headers=key)
        again = mom.call(step, "submit again (a retry)", "POST", "/bundles/newborn/submissions", expect=201,
                         json=body, headers=key)
        if again["number"] != run["number"]:
            raise JourneyFailed(step, "idempotent submit", None, {"detail": [run["number"], again["number"]]})
        number = run["number"]
        say(f"submitted once as {number} (the retry answered the same bundle)")

        step = 4  # the health department checks the certificate; registration waits for the father
        _wait(step, mom, number, lambda r: any(s["key"] == "birth_registration" and s["status"] == "waiting_confirmation"
                                               for s in r["steps"]), timeout, say)
        say("household registration waits for the other parent's confirmation")

        step = 5  # the father, on the app
        dad = _Device(http, hub, "/app/v1", {"X-Device-Id": f"mock-device-{father}"})
        phone = DEMO_PHONES[father]
        dad.call(step, "SMS code", "POST", "/sms-codes", expect=202, json={"phone": phone})
        sms = dad.call(step, "read SMS", "GET", f"{mock}/_mock/sms/{phone}")
        session = dad.call(step, "log in", "POST", "/session", json={"phone": phone, "code": sms["code"]})
        dad.headers["Authorization"] = f"Bearer {session['access_token']}"
        dad.real_name(step, father)
        waiting = dad.call(step, "confirmations", "GET", "/bundle-confirmations")["items"]
        mine = [w for w in waiting if w["number"] == number]
        if not mine:
            raise JourneyFailed(step, "confirmations", None, {"detail": waiting})
        say(f"{father} on the app sees: {mine[0]['title']} for {mine[0]['facts']}")

        step = 6
        # the digest of what he was shown: if the mother changed it meanwhile, he is asked to look again
        confirmed = dad.call(step, "confirm", "POST", f"/bundle-confirmations/{number}",
                             json={"decision": "confirm", "digest": mine[0]["digest"]})
        say(f"{father} confirmed ({confirmed['status']})")
        run = _wait(step, mom, number, lambda r: r["status"] == "completed", timeout, say)
        say(f"every step done: {run['status_name']}")

        step = 7  # the outputs in the mother's wallet
        wallet = mom.call(step, "wallet", "GET", "/licenses")
        items = wallet.get("items", wallet) if isinstance(wallet, dict) else wallet
        kinds = sorted({item.get("type_code") or item.get("type") for item in items})
        for needed in ("birth_medical_certificate", "vaccination_certificate"):
            if needed not in kinds:
                raise JourneyFailed(step, "wallet", None, {"detail": kinds})
        say(f"in {mother}'s wallet: {', '.join(kinds)}")
        return {"number": number, "run": run, "wallet": kinds}
