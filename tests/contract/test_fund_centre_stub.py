"""The fund-centre contract, hub side (adapters/departments/fund_centre_client.py) against the
centre side (the department stub's fund role), over real HTTP: signed queries only, "unreachable"
is an error and never an empty list, and a payout instruction is paid only when the hub signed it
for this centre and for the holder the centre has on record (docs/housing-fund.md)."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from adapters.departments.fund_centre_client import HttpFundCentres
from adapters.departments.node_client import SignedNodeClient
from domain.housing_fund import instructions
from domain.nodes import signatures
from domain.nodes.statements import StatementSigner
from domain.shared.errors import UpstreamUnavailable
from tests.support.citizens import BOB, CAROL
from tests.support.department_stub import DEVKEYS, HUB_PUBLIC_KEY
from tests.support.housing_fund import (
    BOB_CARD,
    BOB_HF,
    BOB_HZ,
    HF,
    HZ,
    fund_stub,
    payouts,
    register_centres,
    reset,
    stub_accounts,
    unreachable,
)

HUB_PRIVATE_KEY = DEVKEYS / "hub_node_private.pem"
CAROL_CARD = "6214831004000000016"


@pytest.fixture(scope="module")
def stub():
    with fund_stub() as running:
        yield running


@pytest.fixture
async def centres(resources, stub) -> HttpFundCentres:
    reset(stub)
    await register_centres(resources, stub)
    return HttpFundCentres(nodes=resources.nodes, client_factory=resources.node_client_factory,
                           retry_delays=())


async def test_a_signed_query_answers_the_persons_accounts(centres):
    [account] = await centres.accounts(centre_code=HZ, id_number="330106198805120023", name="王强")
    assert (account.account_no, account.status, account.balance_fen) == (BOB_HZ, "normal", 3_000_000)
    assert account.deposit_months >= len(account.history) == min(account.deposit_months, 12)
    [sealed] = await centres.accounts(centre_code=HF, id_number="330106198805120023", name="王强")
    assert (sealed.account_no, sealed.status, str(sealed.sealed_on)) == (BOB_HF, "sealed", "2025-12-31")
    assert await centres.accounts(centre_code=HZ, id_number="110105199003070017", name="张丽") == []


async def test_an_unsigned_query_is_refused(stub):
    answer = httpx.post(f"{stub.endpoint(HZ)}/fund/accounts/query", json={"id_number": "330106198805120023"})
    assert (answer.status_code, answer.json()["code"]) == (401, "signature_missing")


async def test_unreachable_is_an_error_never_an_empty_list(centres, stub):
    unreachable(stub, HZ)
    with pytest.raises(UpstreamUnavailable):
        await centres.accounts(centre_code=HZ, id_number="330106198805120023", name="王强")
    unreachable(stub, HZ, on=False)
    stub.stop()
    try:
        with pytest.raises(UpstreamUnavailable):
            await centres.accounts(centre_code=HF, id_number="330106198805120023", name="王强")
    finally:
        stub.start()
    with pytest.raises(UpstreamUnavailable):  # a centre with no endpoint is not "no account" either
        await centres.accounts(centre_code="999999-housing_fund", id_number="330106198805120023", name="王强")


# --- the payout instruction: a statement the hub signed, checked before anything is paid -------


def _instruction(payout_id: str, *, holder: str = BOB["id_number"], centre: str = HF, amount: int = 100_000,
                 key: Path = HUB_PRIVATE_KEY) -> dict:
    claims = instructions.payout_claims(
        payout_id=payout_id, withdrawal_id=f"w_{payout_id}", centre_code=centre, account_no=BOB_HF,
        holder_ref=instructions.holder_reference(holder, payout_id), amount_fen=amount, card_no=BOB_CARD,
        bank_name=None, face=instructions.FaceBinding("f_1", datetime(2026, 11, 27, tzinfo=UTC)),
        issued_at=datetime(2026, 11, 27, tzinfo=UTC), callback=f"/gov/v1/housing-fund/payouts/{payout_id}/events")
    return StatementSigner(key.read_bytes()).sign(instructions.PAYOUT_STATEMENT, claims)


async def _deliver(stub, number: str, payout, *, amount: int = 100_000, centre: str = HF) -> None:
    """A withdrawal's application as the hub delivers it: the delivery itself signed as the hub."""
    form = {"withdrawal_id": f"w_{number[-6:]}", "kind": "leaving", "account_no": BOB_HF, "amount_fen": amount,
            "rule_clear": True, "checks": [], "details": {}, "payout": payout}
    if isinstance(payout, dict) and "statement" in payout:
        form["withdrawal_id"] = json.loads(payout["statement"])["withdrawal_id"]
    body = json.dumps({"delivery_id": f"d-{number}", "kind": "node.application.submitted",
                       "sent_at": "2026-11-27T10:00:00+08:00", "payload": {"number": number, "form": form}},
                      ensure_ascii=False).encode()
    async with httpx.AsyncClient(timeout=5) as http:
        client = SignedNodeClient(base_url=stub.endpoint(centre), private_key_pem=HUB_PRIVATE_KEY.read_bytes(),
                                  http=http, retry_delays=())
        answer = await http.send(client.build("POST", "deliveries", body))
    assert answer.status_code == 202, answer.text


def _until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _refusals(stub) -> dict[str, tuple[str, str | None]]:
    rows = httpx.get(f"{stub.url}/_stub/fund/refusals", timeout=5).json()["refusals"]
    return {r["number"]: (r["reason"], r["payout_id"]) for r in rows}


def _events(stub, number: str) -> list[str]:
    return [c["type"] for c in stub.callbacks(number)]


async def test_the_centre_pays_only_an_instruction_the_hub_signed_for_the_holder_on_record(stub, centres):
    forged = {"payout_id": "po_forged", "amount_fen": 100_000, "bank_card_no": CAROL_CARD, "callback": "/x"}
    other_key = _instruction("po_otherkey", key=DEVKEYS / "demo_node_zhejiang_private.pem")
    hub_key_id = signatures.key_id(signatures.load_public_key(HUB_PUBLIC_KEY.read_bytes()))
    bad_signature = {**other_key, "key_id": hub_key_id}  # claims the hub's key, signed with another
    tampered = _instruction("po_tampered")
    tampered["statement"] = tampered["statement"].replace(BOB_CARD, CAROL_CARD)  # the card swapped after signing
    cases = {
        "340100-20261127-000001": (forged, "statement_malformed"),  # issue #12 item 1: unsigned
        "340100-20261127-000002": (other_key, "statement_key"),
        "340100-20261127-000003": (bad_signature, "statement_signature"),
        "340100-20261127-000004": (tampered, "statement_signature"),
        "340100-20261127-000005": (_instruction("po_hz", centre=HZ), "wrong_centre"),
        "340100-20261127-000006": (_instruction("po_amount"), "form_mismatch"),  # the form says another amount
    }
    for number, (payout, _) in cases.items():
        await _deliver(stub, number, payout, amount=200_000 if number.endswith("6") else 100_000)
    await _deliver(stub, "340100-20261127-000007", _instruction("po_carol", holder=CAROL["id_number"]))
    await _deliver(stub, "340100-20261127-000008", _instruction("po_good"))  # the control: paid

    _until(lambda: [p["outcome"] for p in payouts(stub)] == ["failed", "paid"])
    refusals = _refusals(stub)
    for number, (_, reason) in cases.items():  # nothing of it trusted: not accepted, its payout id untouched
        assert refusals[number] == (reason, None), number
        assert _events(stub, number) == ["rejected"], number
    # signed, for this centre, but the account's holder on record is not the applicant: refused,
    # and its payout (the hub's own id) reported failed so the hub settles the withdrawal
    assert refusals["340100-20261127-000007"] == ("holder_mismatch", "po_carol")
    assert _events(stub, "340100-20261127-000007") == ["accepted", "refused", "completed"]
    assert [(p["payout_id"], p["outcome"]) for p in payouts(stub)] == [("po_carol", "failed"), ("po_good", "paid")]
    assert _events(stub, "340100-20261127-000008") == ["accepted", "approved", "completed"]
    assert stub_accounts(stub)[BOB_HF] == 3_215_000 - 100_000  # debited once, by the signed instruction only
