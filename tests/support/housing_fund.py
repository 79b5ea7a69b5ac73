"""Housing fund test helpers: the department stub playing the demo fund centres, the centres
registered with their dev keys, citizens logged in and verified, signed payout events."""
from __future__ import annotations

import contextlib
import json

import httpx
import pytest

from domain.housing_fund.matters import DEMO_CENTRES, offer_withdrawals
from domain.nodes import signatures
from tests.support.citizens import BOB, bearer, login_wechat, verify_real_name
from tests.support.clock import suite_clock
from tests.support.department_stub import DEVKEYS, running_stub

HZ, HF, BJ = "330100-housing_fund", "340100-housing_fund", "110000-housing_fund"
KEYS = {BJ: "demo_node_beijing_fund", HZ: "demo_node_hangzhou_fund", HF: "demo_node_hefei_fund"}
BOB_HZ, BOB_HF, ALICE_BJ = "330100300023", "340100200023", "110000100017"
BOB_CARD, BOB_RETURNING_CARD, ALICE_CARD = "6217001002000000025", "6228481003000000003", "6222021001000000015"


def private_key(centre: str) -> bytes:
    return (DEVKEYS / f"{KEYS[centre]}_private.pem").read_bytes()


@contextlib.contextmanager
def fund_stub(hub_url: str = "http://127.0.0.1:9", delay: float = 0.05, also: dict | None = None):
    """The stub playing the demo fund centres (and the nodes ``also`` names: code -> private key file)."""
    nodes = {code: DEVKEYS / f"{name}_private.pem" for code, name in KEYS.items()} | (also or {})
    with running_stub(hub_url=hub_url, delay=delay, nodes=nodes) as stub:
        yield stub


def reset(stub) -> None:
    httpx.post(f"{stub.url}/_stub/reset", timeout=5).raise_for_status()
    httpx.post(f"{stub.url}/_stub/fund/reset", timeout=5).raise_for_status()


def unreachable(stub, centre: str | None, on: bool = True) -> None:
    httpx.post(f"{stub.url}/_stub/fund/unreachable", json={"centre": centre, "on": on}, timeout=5).raise_for_status()


def payouts(stub) -> list[dict]:
    return httpx.get(f"{stub.url}/_stub/fund/payouts", timeout=5).json()["payouts"]


def stub_accounts(stub) -> dict[str, int]:
    rows = httpx.get(f"{stub.url}/_stub/fund/accounts", timeout=5).json()["accounts"]
    return {r["account_no"]: r["balance_fen"] for r in rows}


async def register_centres(resources, stub) -> None:
    for centre in DEMO_CENTRES:
        await resources.nodes.register(
            code=centre.code, kind="department", name=centre.name, region_code=centre.region_code,
            public_key_pem=(DEVKEYS / f"{KEYS[centre.code]}_public.pem").read_text(),
            endpoint_url=stub.endpoint(centre.code))
    await offer_withdrawals(resources.catalog)


async def verified(client, mock_url: str, user: str = "bob", who: dict = BOB) -> dict:
    session = await login_wechat(client, mock_url, user)
    answer = await verify_real_name(client, "/wx/v1", session, who)
    assert answer.status_code == 200, answer.text
    return session


def leaving(amount_fen: int = 3_215_000, card: str = BOB_CARD, **extra) -> dict:
    """bob takes his Hefei balance, sealed since he moved to Hangzhou."""
    return {"kind": "leaving", "centre_code": HF, "account_no": BOB_HF, "amount_fen": amount_fen,
            "bank_card_no": card, **extra}


def renting(amount_fen: int, **extra) -> dict:
    return {"kind": "renting", "centre_code": HZ, "account_no": BOB_HZ, "amount_fen": amount_fen,
            "bank_card_no": BOB_CARD, **extra}


async def start(client, session: dict, body: dict, prefix: str = "/wx/v1") -> httpx.Response:
    return await client.post(f"{prefix}/housing-fund/withdrawals", json=body, headers=bearer(session))


async def scan_face(client, session: dict, face: dict) -> dict:
    """The device's SDK ran; the verdict is read once at the route the start named: an L3 session."""
    answer = await client.get(face["result"], headers=bearer(session))
    assert answer.status_code == 200 and answer.json()["passed"], answer.text
    return answer.json()["session"]


async def submit(client, session: dict, withdrawal_id: str, key: str = "k-1", prefix: str = "/wx/v1") -> httpx.Response:
    return await client.post(f"{prefix}/housing-fund/withdrawals/{withdrawal_id}/submission",
                             headers={**bearer(session), "Idempotency-Key": key})


async def ready(client, session: dict, body: dict) -> tuple[str, dict]:
    """A started withdrawal whose own face scan passed: (its id, the L3 session)."""
    started = await start(client, session, body)
    assert started.status_code == 201, started.text
    return started.json()["withdrawal"]["id"], await scan_face(client, session, started.json()["face"])


async def payout_event(client, centre: str, payout_id: str, event_id: str, type: str, **extra) -> httpx.Response:
    return await centre_event(client, centre, f"/gov/v1/housing-fund/payouts/{payout_id}/events", event_id, type,
                              **extra)


async def centre_event(client, centre: str, path: str, event_id: str, type: str, **extra) -> httpx.Response:
    """An event the centre reports to the hub, signed as the centre (a payout's, an application's)."""
    body = json.dumps({"event_id": event_id, "type": type, "occurred_at": "2026-11-27T10:00:00+08:00", **extra},
                      ensure_ascii=False).encode()
    headers = signatures.signed_headers(private_key=signatures.load_private_key(private_key(centre)), node=centre,
                                        method="POST", path=path, query_string="", body=body,
                                        timestamp=int(suite_clock.timestamp()))
    return await client.post(path, content=body, headers={**headers, "Content-Type": "application/json"})


# The fixtures of every module that talks to the fund centres (import them by name).
@pytest.fixture(scope="module")
def stub():
    with fund_stub() as running:
        yield running


@pytest.fixture
async def centres(resources, stub):
    reset(stub)
    await register_centres(resources, stub)
    return stub


@pytest.fixture
async def bob(client, mock_url, centres):
    return await verified(client, mock_url)
