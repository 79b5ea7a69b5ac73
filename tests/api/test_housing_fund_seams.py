"""The housing fund's seams with the generic routes, over HTTP against the REAL department stub
playing the centres (issue #12): a fund matter never goes through the plain application route or
its resubmission, money figures beyond what the store holds are refused at the start, and
concurrent copies of one submission all answer its first result."""
from __future__ import annotations

import asyncio

import pytest

from domain.applications.models import Application
from domain.delivery.models import Delivery
from domain.housing_fund.models import Withdrawal
from domain.shared.models import IdempotencyKey
from tests.support.citizens import CAROL, bearer, login_alipay, login_app, login_wechat, verify_real_name
from tests.support.housing_fund import (  # noqa: F401  (fixtures: stub, centres, bob)
    BOB_HF,
    BOB_HZ,
    HF,
    HZ,
    bob,
    centre_event,
    centres,
    fund_stub,
    leaving,
    private_key,
    ready,
    register_centres,
    renting,
    reset,
    start,
    stub,
    submit,
    verified,
)

CAROLS_CARD = "6214831004000000016"
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def _carol_on(client, mock_url, channel: str) -> tuple[str, dict]:
    """carol at L2 on a channel: real name, no fund account anywhere, no face scan."""
    if channel == "wechat":
        prefix, session = "/wx/v1", await login_wechat(client, mock_url, "carol")
    elif channel == "alipay":
        prefix, session = "/alipay/v1", await login_alipay(client, mock_url, "carol")
    else:
        prefix, session = "/app/v1", await login_app(client, mock_url, phone=CAROL["phone"])
    answer = await verify_real_name(client, prefix, session, CAROL)
    assert answer.status_code == 200, answer.text
    device = {"X-Device-Id": "device-1"} if channel == "app" else {}
    headers = {**bearer(answer.json()["session"] or session), **device}
    return prefix, headers


@pytest.mark.parametrize("channel", ["wechat", "alipay", "app"])
async def test_a_fund_matter_through_the_plain_application_route_is_refused(client, mock_url, centres, channel):
    """Issue #12 item 1: a hand-written payout naming bob's Hefei account and carol's own card."""
    prefix, headers = await _carol_on(client, mock_url, channel)
    forged = {"withdrawal_id": "w_forged", "kind": "leaving", "account_no": BOB_HF, "amount_fen": 3_215_000,
              "rule_clear": True, "checks": [], "details": {},
              "payout": {"payout_id": "po_forged", "amount_fen": 3_215_000, "bank_card_no": CAROLS_CARD,
                         "bank_name": None, "callback": "/gov/v1/housing-fund/payouts/po_forged/events"}}
    answer = await client.post(f"{prefix}/applications", headers={**headers, "Idempotency-Key": "attack-1"},
                               json={"matter_code": "340100-HF-LEAVE", "form": forged})
    assert (answer.status_code, answer.json()["code"]) == (409, "matter_entry_not_allowed"), answer.text
    assert (answer.json()["entry"], answer.json()["route"]) == ("housing_fund", "POST /housing-fund/withdrawals")
    assert answer.json()["matter_code"] == "340100-HF-LEAVE"
    # nothing stored, nothing on its way to the centre
    assert await Application.all().count() == 0 and await Delivery.all().count() == 0
    assert await IdempotencyKey.all().count() == 0




async def test_a_fund_application_in_correction_takes_no_new_form_through_the_generic_resubmission(
        client, bob, resources):
    withdrawal_id, l3 = await ready(client, bob, leaving())
    assert (await submit(client, l3, withdrawal_id)).status_code == 200
    number = (await Withdrawal.get(public_id=withdrawal_id)).application_number
    for event_id, type_ in (("c-1", "accepted"), ("c-2", "correction_requested")):
        moved = await centre_event(client, HF, f"/gov/v1/applications/{number}/events", event_id, type_,
                                   reason="请补正")
        assert moved.status_code == 200, moved.text
    before = (await client.get(f"/wx/v1/applications/{number}", headers=bearer(bob))).json()
    assert before["status"] == "correction_requested"
    new_form = {**before["form"], "payout": {"payout_id": "po_mine", "amount_fen": 3_215_000,
                                             "bank_card_no": CAROLS_CARD, "callback": "/x"}}
    answer = await client.post(f"/wx/v1/applications/{number}/resubmission", json={"form": new_form},
                               headers={**bearer(bob), "Idempotency-Key": "r-1"})
    assert (answer.status_code, answer.json()["code"]) == (409, "matter_entry_not_allowed"), answer.text
    assert answer.json()["route"] == "POST /housing-fund/withdrawals"
    after = (await client.get(f"/wx/v1/applications/{number}", headers=bearer(bob))).json()
    assert (after["status"], after["form"]) == ("correction_requested", before["form"])
    assert await Delivery.filter(kind="node.application.resubmitted").count() == 0


async def _upload(client, session) -> str:
    answer = await client.post("/wx/v1/applications/materials", headers=bearer(session),
                               files={"file": ("诊断证明.pdf", PDF, "application/pdf")})
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def test_money_figures_beyond_what_the_store_holds_are_refused_at_the_start(client, bob):
    """Issue #12 item 6: medical costs of 2**64 fen passed the start and the face scan, then 500."""
    diagnosis = [{"name": "重大疾病诊断证明", "upload_id": await _upload(client, bob)}]
    illness = {"kind": "illness", "centre_code": HZ, "account_no": BOB_HZ, "amount_fen": 100_000,
               "bank_card_no": "6217001002000000025", "materials": diagnosis}
    huge = await start(client, bob, {**illness, "details": {"medical_cost_fen": 2**64}})
    assert (huge.status_code, huge.json()["code"]) == (400, "invalid_input"), huge.text
    assert [e["field"] for e in huge.json()["errors"]] == ["details.medical_cost_fen"]
    asked = await client.post("/wx/v1/housing-fund/eligibility", headers=bearer(bob),
                              json={"kind": "buying", "centre_code": HZ, "account_no": BOB_HZ,
                                    "details": {"price_fen": 10**13}})
    assert (asked.status_code, [e["field"] for e in asked.json().get("errors", [])]) == (
        400, ["details.price_fen"]), asked.text
    assert await Withdrawal.all().count() == 0
    plausible = await start(client, bob, {**illness, "details": {"medical_cost_fen": 20_000_000}})
    assert plausible.status_code == 201, plausible.text  # a real year's costs still pass


@pytest.mark.parametrize("spacing", [0.005, 0.01, 0.02])
async def test_concurrent_copies_of_one_submission_all_answer_the_first_result(client, bob, spacing):
    """Issue #12 item 7: now and then a copy got 409 idempotency_key_reused. Copies arrive spread
    over the time a submission takes, so some read the withdrawal just before another commits."""
    withdrawal_id, l3 = await ready(client, bob, renting(100_000))

    async def copy(n: int):
        await asyncio.sleep(n * spacing)
        return await submit(client, l3, withdrawal_id, key="one-key")

    answers = await asyncio.gather(*(copy(n) for n in range(20)))
    assert [a.status_code for a in answers] == [200] * 20, [a.text for a in answers if a.status_code != 200]
    first = [a for a in answers if a.headers.get("Idempotent-Replayed") != "true"]
    assert len(first) == 1 and all(a.json() == first[0].json() for a in answers)
    assert await Application.all().count() == 1 and await Delivery.all().count() == 1
