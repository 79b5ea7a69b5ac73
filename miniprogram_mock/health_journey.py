"""The health-code journey over real HTTP (docs/health-codes.md): a citizen declares in Zhejiang and
gets Zhejiang's code — signed by Zhejiang itself (the department stub plays its signing service) —
travels to Beijing, where a checkpoint's verifier, having downloaded the trust list, the rules and
the revocation batches once, checks the code offline under Beijing's rules; the Beijing platform's
node asks the hub online and hears the same.

Uses the stand-alone verifier (verifier/health.py) as a checkpoint would: it imports nothing of the hub.
"""
from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import serialization

from miniprogram_mock.fund_journey import PREFIX, _Walk
from miniprogram_mock.journey import JourneyFailed, hub_now
from miniprogram_mock.license_journey import node_headers
from miniprogram_mock.users import DEMO_IDENTITIES
from verifier import health_cache
from verifier.health_cli import fetch

STEPS = 6
ZHEJIANG, HANGZHOU, BEIJING = "330000", "330106", "110000"


def run_health_journey(base_url: str = "http://127.0.0.1:8000", mock_url: str = "http://127.0.0.1:8001", *,
                       user: str = "alice", checkpoint_node: str = "beijing-platform",
                       checkpoint_key: Path = Path("devkeys/demo_node_beijing_private.pem"),
                       anchor_pin: str | None = None, cache: Path | None = None,
                       out: Callable[[str], Any] = print) -> dict:
    """declare -> Zhejiang's code -> travel -> offline check in Beijing -> online check; what each step saw.
    ``anchor_pin``: the trust anchor's fingerprint as known out of band (the demo pins what the hub says)."""
    identity, seen = DEMO_IDENTITIES[user], {}
    with httpx.Client(timeout=15.0) as http, tempfile.TemporaryDirectory() as scratch:
        walk = _HealthWalk(http, base_url.rstrip("/"), mock_url.rstrip("/"), out)
        walk.next()
        code = walk.call("wx.login", "POST", f"{walk.mock}/_mock/wechat/login", json={"user": user})
        session = walk.hub("log in", "POST", f"{PREFIX}/session", json={"code": code["code"]})
        walk.use(session)
        if walk.hub("me", "GET", f"{PREFIX}/me")["assurance"] < 2:
            walk.hub("real name", "POST", f"{PREFIX}/me/real-name",
                     json={"name": identity.name, "id_number": identity.id_number})
            # a token says the level it was issued at: a refreshed one says real name
            walk.use(walk.hub("refresh", "POST", f"{PREFIX}/session/refresh",
                              json={"refresh_token": session["refresh_token"]}))
        walk.say(f"{user} logged in on WeChat with real name")

        walk.next()
        today = hub_now().date()
        trips = [{"region": "310000", "arrived": (today - timedelta(days=6)).isoformat(),
                  "left": (today - timedelta(days=4)).isoformat()}]
        walk.hub("declare", "POST", f"{PREFIX}/me/health/declarations", expect=201,
                 json={"region": HANGZHOU, "trips": trips, "symptoms": []})
        walk.say(f"declared in Hangzhou: trips {', '.join(t['region'] for t in trips)}, no symptoms")

        walk.next()
        made = seen["code"] = walk.hub("health code", "POST", f"{PREFIX}/me/health/codes", expect=201,
                                       json={"region": HANGZHOU})
        walk.say(f"Zhejiang's code: {made['colour']}{' (' + '; '.join(made['reasons']) + ')' if made['reasons'] else ''}"
                 f", valid until {made['valid_until']}, {len(made['credential'])} characters "
                 f"({made['credential'][:24]}…)")

        walk.next()
        pin = anchor_pin or walk.hub("trust anchor", "GET", "/public/v1/trust-anchor")["fingerprint"]
        directory = Path(cache or scratch)
        fetched = fetch(walk.base, pin, directory, log=lambda line: None)
        walk.say("the Beijing checkpoint's verifier downloaded " + ", ".join(
            f"{name} ({held['entries']} entries, seq {held['seq']})" for name, held in fetched.items()))

        walk.next()  # offline: only the cache directory, no network
        verifier = health_cache.load(directory, pin)
        decision = seen["offline"] = verifier.verify(made["credential"], checkpoint_region=BEIJING,
                                                     at=hub_now()).as_dict()
        walk.say(f"offline at a Beijing checkpoint: {decision['result']} — {decision['reason']}"
                 + "".join(f"; rule {r['identifier']} v{r['version']}" for r in decision["rules"]))
        if decision["result"] != "accepted":
            raise JourneyFailed(walk.step, "offline check", None, decision)

        walk.next()
        online = seen["online"] = _signed_check(walk, checkpoint_node, checkpoint_key, made["credential"])
        walk.say(f"online, as {checkpoint_node}: {online['result']} — {online['reason']}")
        if (online["result"], online["code"]) != (decision["result"], decision["code"]):
            raise JourneyFailed(walk.step, "online check", None, {"offline": decision, "online": online})
        return seen


def _signed_check(walk: _Walk, node: str, key_path: Path, credential: str) -> dict:
    key = serialization.load_pem_private_key(Path(key_path).read_bytes(), password=None)
    body = httpx.Request("POST", "/", json={"credential": credential, "checkpoint_region": BEIJING}).content
    path = "/gov/v1/health/checks"
    return walk.call("online check", "POST", f"{walk.base}{path}", content=body,
                     headers=node_headers(key, node, "POST", path, body))


class _HealthWalk(_Walk):
    def say(self, line: str) -> None:
        self.out(f"[{self.step}/{STEPS}] health: {line}")
