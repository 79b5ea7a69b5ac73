"""The license journey over real HTTP: a department issues a license (signed /gov/v1 request), the
citizen logs in and finds it in the wallet, shows it after a face scan (a 3-minute token, as a QR
code would carry; the name is a sensitive field), and a verifier checks it offline with what the
hub publishes (verifier/).

Signs as a node by the documented scheme (docs/nodes.md) itself: it imports nothing of the hub.
"""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from miniprogram_mock.journey import JourneyFailed, _problem, hub_now, hub_time
from miniprogram_mock.users import DEMO_IDENTITIES
from verifier.offline import OfflineVerifier

STEPS = 6


def node_headers(key, node: str, method: str, path: str, body: bytes) -> dict[str, str]:
    timestamp, nonce = str(int(hub_time())), secrets.token_urlsafe(24)
    message = "\n".join(["GOVHUB-SIG-V1", node, method, path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    signature = key.sign(message.encode(), ec.ECDSA(hashes.SHA256()))
    return {"X-Gov-Node": node, "X-Gov-Timestamp": timestamp, "X-Gov-Nonce": nonce,
            "X-Gov-Signature": base64.b64encode(signature).decode(), "Content-Type": "application/json"}


def run_license_journey(base_url: str = "http://127.0.0.1:8000", mock_url: str = "http://127.0.0.1:8001", *,
                        node: str = "bj-psb", node_key: Path = Path("devkeys/demo_node_beijing_psb_private.pem"),
                        user: str = "alice", anchor_pin: str | None = None, out: Callable[[str], Any] = print) -> dict:
    """issue -> wallet -> show -> verify offline; returns what each step produced. ``anchor_pin``: the
    trust anchor's fingerprint as known out of band; without one the demo pins what the hub says."""
    hub, mock = base_url.rstrip("/"), mock_url.rstrip("/")
    key = serialization.load_pem_private_key(Path(node_key).read_bytes(), password=None)
    identity = DEMO_IDENTITIES[user]
    step = 0

    def call(what: str, method: str, url: str, *, expect: int, **options) -> Any:
        try:
            response = http.request(method, url, **options)
        except httpx.HTTPError as exc:
            raise JourneyFailed(step, what, None, {"detail": f"cannot reach {url}: {exc!r}"}) from exc
        if response.status_code != expect:
            raise JourneyFailed(step, what, response.status_code, _problem(response))
        return response.json()

    def say(line: str) -> None:
        out(f"[{step}/{STEPS}] licenses: {line}")

    with httpx.Client(timeout=httpx.Timeout(15.0, connect=3.0)) as http:
        step = 1
        data = {"name": identity.name, "id_number": identity.id_number, "sex": "女", "ethnicity": "汉",
                "birth_date": f"{identity.id_number[6:10]}-{identity.id_number[10:12]}-{identity.id_number[12:14]}",
                "address": "北京市朝阳区建国路1号", "valid_from": "2020-01-01", "valid_until": "2040-01-01"}
        body = json.dumps({"type": "resident_id_card", "number": f"J-{secrets.token_hex(6)}", "data": data},
                          ensure_ascii=False).encode()
        issued = call("issue", "POST", f"{hub}/gov/v1/licenses", expect=201, content=body,
                      headers=node_headers(key, node, "POST", "/gov/v1/licenses", body))
        say(f"{node} issued {issued['type_name']} {issued['id']} (sealed by {issued['issuer']})")

        step = 2
        code = call("wx.login", "POST", f"{mock}/_mock/wechat/login", expect=200, json={"user": user})["code"]
        session = call("log in", "POST", f"{hub}/wx/v1/session", expect=200, json={"code": code})
        bearer = {"Authorization": f"Bearer {session['access_token']}"}
        named = call("real-name", "POST", f"{hub}/wx/v1/me/real-name", expect=200, headers=bearer,
                     json={"name": identity.name, "id_number": identity.id_number})
        if named.get("session"):
            bearer = {"Authorization": f"Bearer {named['session']['access_token']}"}
        say(f"{user} logged in on WeChat and verified real name")

        step = 3
        wallet = call("wallet", "GET", f"{hub}/wx/v1/licenses", expect=200, headers=bearer)["items"]
        if issued["id"] not in {item["id"] for item in wallet}:
            raise JourneyFailed(step, "wallet", 200, {"detail": "the issued license is not in the wallet"})
        detail = call("detail", "GET", f"{hub}/wx/v1/licenses/{issued['id']}", expect=200, headers=bearer)
        say(f"wallet holds {len(wallet)} license(s); ID number shown as {detail['data']['id_number']}")

        step = 4  # the name is sensitive: shown in clear only after a fresh face scan (L3)
        face = call("face scan", "POST", f"{hub}/wx/v1/me/face-verifications", expect=201, headers=bearer)
        verdict = call("face result", "GET", f"{hub}/wx/v1/me/face-verifications/{face['id']}", expect=200,
                       headers=bearer)
        l3 = {"Authorization": f"Bearer {verdict['session']['access_token']}"}
        shown = call("show", "POST", f"{hub}/wx/v1/licenses/{issued['id']}/presentations", expect=201,
                     headers=l3, json={"fields": ["name", "sex"]})
        say(f"after a face scan: presentation token of {shown['bytes']} bytes, valid {shown['expires_in']} s, "
            f"shows name and sex")

        step = 5
        anchor = call("trust anchor", "GET", f"{hub}/public/v1/trust-anchor", expect=200)
        verifier = OfflineVerifier(anchor=anchor, pin=anchor_pin or anchor["fingerprint"])
        verifier.load_trust_list(call("trust list", "GET", f"{hub}/public/v1/trust-list", expect=200))
        epoch = json.loads(base64.urlsafe_b64decode(shown["token"].split(".")[1] + "==="))["st"][0]
        verifier.load_status_list(call("status list", "GET", f"{hub}/public/v1/status-lists/{epoch}", expect=200))
        say(f"verifier downloaded trust list v{verifier.trust_version} ({len(verifier.keys)} keys) and a status list")

        step = 6
        result = verifier.verify(shown["token"], now=hub_now())  # no network from here on
        if result.result != "valid" or identity.id_number in json.dumps(result.fields, ensure_ascii=False):
            raise JourneyFailed(step, "verify offline", None, {"detail": result.__dict__})
        say(f"verified offline: {result.result}, {result.license_type} from {result.issuer}, fields {result.fields}")
    return {"license": issued, "presentation": shown, "verification": result.__dict__}
