"""Housing fund on the channels, in-process against the REAL department stub (a process) playing
the fund centres: accounts across cities, "unreachable" never zero, eligibility rule by rule, the
bank card check, L3 bound to the withdrawal, submission as an application to the centre, and the
centre's payout events (replayed, out of order, from the wrong node)."""
from __future__ import annotations

import asyncio

from adapters.departments.stub.fund_store import DEMO_ACCOUNTS
from domain.applications.models import Application
from domain.delivery.models import Delivery
from domain.housing_fund import instructions
from domain.housing_fund.models import Quota, Withdrawal
from domain.nodes import signatures, statements
from tests.support.citizens import ALICE, BOB, bearer
from tests.support.clock import suite_clock
from tests.support.housing_fund import (  # noqa: F401  (fixtures: stub, centres, bob)
    ALICE_BJ,
    BJ,
    BOB_CARD,
    BOB_HF,
    BOB_HZ,
    HF,
    HZ,
    bob,
    centres,
    fund_stub,
    leaving,
    payout_event,
    ready,
    register_centres,
    renting,
    reset,
    scan_face,
    start,
    stub,
    submit,
    unreachable,
    verified,
)


async def test_bob_sees_his_accounts_in_both_cities(client, bob):
    answer = await client.get("/wx/v1/housing-fund/accounts", headers=bearer(bob))
    assert answer.status_code == 200, answer.text
    accounts = {a["account_no"]: a for a in answer.json()["accounts"]}
    assert set(accounts) == {BOB_HZ, BOB_HF} and answer.json()["unreachable"] == []
    assert (accounts[BOB_HF]["status"], accounts[BOB_HF]["balance_fen"]) == ("sealed", 3_215_000)
    assert (accounts[BOB_HZ]["centre_name"], accounts[BOB_HZ]["balance_text"]) == ("杭州住房公积金管理中心", "30,000.00元")
    assert "history" not in accounts[BOB_HZ]  # the mini-program gets the compact shape


async def test_the_app_gets_history_and_when_each_centre_answered(client, mock_url, centres):
    from tests.support.citizens import BOB as WHO
    from tests.support.citizens import login_app, verify_real_name

    session = await login_app(client, mock_url, phone="13800000002")
    assert (await verify_real_name(client, "/app/v1", session, WHO)).status_code == 200
    answer = (await client.get("/app/v1/housing-fund/accounts", headers=bearer(session))).json()
    hangzhou = next(a for a in answer["accounts"] if a["account_no"] == BOB_HZ)
    # deposits since the account's first month, up to (not including) this month of the suite's clock
    first = next(a.deposits_since for a in DEMO_ACCOUNTS if a.account_no == BOB_HZ)
    today = suite_clock.today()
    months = (today.year - int(first[:4])) * 12 + today.month - int(first[5:])
    assert hangzhou["deposit_months"] == months and len(hangzhou["history"]) == min(months, 12)
    assert hangzhou["history"][-1]["month"] < f"{today:%Y-%m}" and hangzhou["as_of"]
    assert {c["centre_code"] for c in answer["centres"]} == {BJ, HZ, HF}


async def test_an_unreachable_centre_is_shown_as_such_never_as_zero(client, bob, centres):
    unreachable(centres, HF)
    answer = (await client.get("/wx/v1/housing-fund/accounts", headers=bearer(bob))).json()
    assert [a["account_no"] for a in answer["accounts"]] == [BOB_HZ]
    assert [(u["centre_code"], u["centre_name"]) for u in answer["unreachable"]] == [(HF, "合肥住房公积金管理中心")]
    assert "余额以中心为准" in answer["unreachable"][0]["message"] or "以中心为准" in answer["unreachable"][0]["message"]
    refused = await start(client, bob, leaving())  # nothing is decided on a guess
    assert (refused.status_code, refused.json()["code"]) == (503, "upstream_unavailable")
    assert await Withdrawal.all().count() == 0
    unreachable(centres, HF, on=False)


async def test_accounts_need_real_name(client, mock_url, centres):
    from tests.support.citizens import login_wechat

    session = await login_wechat(client, mock_url, "bob")
    answer = await client.get("/wx/v1/housing-fund/accounts", headers=bearer(session))
    assert (answer.status_code, answer.json()["code"]) == (403, "assurance_required")


async def test_eligibility_is_explained_rule_by_rule(client, bob):
    ok = await client.post("/wx/v1/housing-fund/eligibility", headers=bearer(bob),
                           json={"kind": "leaving", "centre_code": HF, "account_no": BOB_HF})
    assert ok.status_code == 200, ok.text
    assert ok.json()["eligible"] and ok.json()["available_fen"] == 3_215_000
    no = (await client.post("/wx/v1/housing-fund/eligibility", headers=bearer(bob),
                            json={"kind": "renting", "centre_code": HF, "account_no": BOB_HF})).json()
    assert not no["eligible"]
    assert [c["passed"] for c in no["checks"]][:2] == [False, False]
    assert "封存" in no["checks"][0]["message"]
    unknown = await client.post("/wx/v1/housing-fund/eligibility", headers=bearer(bob),
                                json={"kind": "renting", "centre_code": HZ, "account_no": "999"})
    assert (unknown.status_code, unknown.json()["code"]) == (404, "fund_account_not_found")
    bad = await client.post("/wx/v1/housing-fund/eligibility", headers=bearer(bob),
                            json={"kind": "lottery", "centre_code": HZ, "account_no": BOB_HZ})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")


async def test_an_ineligible_withdrawal_or_anothers_card_stores_nothing(client, bob):
    too_much = await start(client, bob, renting(150_001))
    assert (too_much.status_code, too_much.json()["code"]) == (400, "withdrawal_not_eligible")
    assert any(e["field"] == "amount_within_limit" for e in too_much.json()["errors"])
    alices_card = await start(client, bob, leaving(card="6222021001000000015"))
    assert (alices_card.status_code, alices_card.json()["code"]) == (400, "bank_card_not_own")
    bad_digit = await start(client, bob, leaving(card="6222021001000000016"))
    assert (bad_digit.status_code, bad_digit.json()["code"]) == (400, "invalid_input")
    assert await Withdrawal.all().count() == 0


async def test_submit_needs_l3_bound_to_this_withdrawal(client, bob):
    first = (await start(client, bob, renting(50_000))).json()
    second = (await start(client, bob, renting(60_000))).json()
    without = await submit(client, bob, first["withdrawal"]["id"])  # an L2 token
    assert (without.status_code, without.json()["code"]) == (403, "assurance_required")
    l3 = await scan_face(client, bob, first["face"])  # the face of the FIRST withdrawal
    other = await submit(client, l3, second["withdrawal"]["id"])
    assert (other.status_code, other.json()["code"]) == (403, "assurance_required")
    assert other.json()["withdrawal_id"] == second["withdrawal"]["id"]
    general = await client.post("/wx/v1/me/face-verifications", headers=bearer(bob))  # a scan for nothing
    still = await submit(client, await scan_face(client, bob, {"result": f"/wx/v1/me/face-verifications/{general.json()['id']}"}),
                         second["withdrawal"]["id"])
    assert (still.status_code, still.json()["code"]) == (403, "assurance_required")
    assert await Application.all().count() == 0 and await Delivery.all().count() == 0
    done = await submit(client, l3, first["withdrawal"]["id"])
    assert done.status_code == 200, done.text


async def test_another_persons_account_cannot_be_drawn(client, mock_url, centres):
    from tests.support.citizens import CAROL

    carol = await verified(client, mock_url, "carol", CAROL)
    answer = await start(client, carol, {"kind": "renting", "centre_code": HZ, "account_no": BOB_HZ,
                                         "amount_fen": 100, "bank_card_no": "6214831004000000016"})
    assert (answer.status_code, answer.json()["code"]) == (404, "fund_account_not_found")  # not her account


async def test_submitted_once_as_an_application_to_the_centre_with_one_payout(client, bob, resources):
    withdrawal_id, l3 = await ready(client, bob, leaving())
    first = await submit(client, l3, withdrawal_id, key="key-a")
    assert first.status_code == 200, first.text
    shown = first.json()
    assert (shown["status"], shown["amount_text"], shown["card_masked"]) == ("requested", "32,150.00元",
                                                                             "6217 **** **** 0025")
    again = await submit(client, l3, withdrawal_id, key="key-a")
    assert again.headers.get("Idempotent-Replayed") == "true" and again.json() == shown
    other_key = await submit(client, l3, withdrawal_id, key="key-b")
    assert (other_key.status_code, other_key.json()["code"]) == (409, "withdrawal_already_submitted")
    row = await Withdrawal.get(public_id=withdrawal_id)
    app = await Application.get(number=row.application_number)
    assert (app.node_code, app.matter_code, app.status, app.entry) == (HF, "340100-HF-LEAVE", "submitted",
                                                                       "housing_fund")
    [delivery] = await Delivery.all()
    assert (delivery.target, delivery.kind) == (HF, "node.application.submitted")
    payload = resources.delivery.payload_of(delivery)
    # the payout instruction is a statement the hub signed: what a centre verifies before it pays
    hub_key = signatures.load_public_key(resources.hub_node_key.public_key_pem)
    claims = statements.verify(hub_key, payload["form"]["payout"], type=instructions.PAYOUT_STATEMENT)
    assert (claims["payout_id"], claims["centre"], claims["account_no"], claims["amount_fen"]) == (
        row.payout_id, HF, BOB_HF, 3_215_000)
    assert claims["holder_ref"] == instructions.holder_reference(BOB["id_number"], row.payout_id)
    assert claims["face"]["session_id"] == row.face_session_id and claims["bank_card_no"] == BOB_CARD
    assert payload["form"]["rule_clear"] is True
    detail = (await client.get(f"/app/v1/housing-fund/withdrawals/{withdrawal_id}", headers=bearer(l3)))
    assert detail.status_code == 401  # a WeChat token is not the app's
    listed = (await client.get("/wx/v1/housing-fund/withdrawals", headers=bearer(l3))).json()["items"]
    assert [w["id"] for w in listed] == [withdrawal_id]


async def test_two_withdrawals_at_once_cannot_both_pass_one_limit(client, bob):
    one, l3 = await ready(client, bob, renting(100_000))
    two, l3b = await ready(client, bob, renting(100_000))
    answers = await asyncio.gather(submit(client, l3, one, key="a"), submit(client, l3b, two, key="b"))
    assert sorted(a.status_code for a in answers)[0] == 200, [a.text for a in answers]
    # the loser is refused either by the check (the winner had committed) or by the quota row
    # (both passed the check at once): tests/service/test_housing_fund.py forces the second case
    loser = max(answers, key=lambda a: a.status_code)
    assert loser.json()["code"] in ("withdrawal_not_eligible", "withdrawal_limit_exceeded"), loser.text
    quota = await Quota.get(account_key=f"{HZ}:{BOB_HZ}", period_key__startswith="renting:")
    assert quota.used_fen == 100_000
    assert await Application.all().count() == 1
    assert sorted(await Withdrawal.all().values_list("status", flat=True)) == ["awaiting_face", "requested"]


async def test_payout_events_replayed_out_of_order_and_from_another_node(client, bob):
    withdrawal_id, l3 = await ready(client, bob, renting(100_000))
    assert (await submit(client, l3, withdrawal_id)).status_code == 200
    payout_id = (await Withdrawal.get(public_id=withdrawal_id)).payout_id
    stranger = await payout_event(client, BJ, payout_id, "e1", "paid")
    assert (stranger.status_code, stranger.json()["code"]) == (404, "payout_not_found")
    paid = await payout_event(client, HZ, payout_id, "e1", "paid", bank_reference="B-1")
    assert paid.json() | {} == {"payout_id": payout_id, "event_id": "e1", "status": "paid", "status_name": "已到账",
                                "applied": True, "outcome": "applied", "replayed": False}
    replay = await payout_event(client, HZ, payout_id, "e1", "paid", bank_reference="B-1")
    assert replay.json()["replayed"] and replay.json()["status"] == "paid"
    reused = await payout_event(client, HZ, payout_id, "e1", "failed")
    assert (reused.status_code, reused.json()["code"]) == (409, "event_id_reused")
    for n, late in enumerate(("returned", "failed")):  # late or contradicting: recorded, never applied
        answer = (await payout_event(client, HZ, payout_id, f"late-{n}", late, reason="x")).json()
        assert (answer["applied"], answer["outcome"], answer["status"]) == (False, "stale", "paid")
    shown = (await client.get(f"/wx/v1/housing-fund/withdrawals/{withdrawal_id}", headers=bearer(l3))).json()
    assert shown["status"] == "paid" and shown["status_name"] == "已到账"
    quota = await Quota.get(account_key=f"{HZ}:{BOB_HZ}", period_key="in_flight")
    assert quota.used_fen == 0  # paid: no longer in flight; the month's renting quota stays used


async def test_a_returned_payout_gives_the_limit_back(client, bob):
    withdrawal_id, l3 = await ready(client, bob, renting(150_000))
    assert (await submit(client, l3, withdrawal_id)).status_code == 200
    payout_id = (await Withdrawal.get(public_id=withdrawal_id)).payout_id
    answer = await payout_event(client, HZ, payout_id, "r1", "returned", reason="收款银行卡已销户")
    assert answer.json()["status"] == "returned"
    assert (await payout_event(client, HZ, payout_id, "p1", "paid")).json()["applied"] is False
    used = dict(await Quota.filter(account_key=f"{HZ}:{BOB_HZ}").values_list("period_key", "used_fen"))
    assert set(used.values()) == {0}
    again = await start(client, bob, renting(150_000))  # the month's room is back
    assert again.status_code == 201, again.text


async def test_another_persons_withdrawal_is_not_found(client, mock_url, bob):
    withdrawal_id = (await start(client, bob, renting(100))).json()["withdrawal"]["id"]
    alice = await verified(client, mock_url, "alice", ALICE)
    answer = await client.get(f"/wx/v1/housing-fund/withdrawals/{withdrawal_id}", headers=bearer(alice))
    assert (answer.status_code, answer.json()["code"]) == (404, "withdrawal_not_found")
    mine = (await client.get("/wx/v1/housing-fund/accounts", headers=bearer(alice))).json()
    assert [a["account_no"] for a in mine["accounts"]] == [ALICE_BJ]


async def test_submit_needs_an_idempotency_key(client, bob):
    withdrawal_id, l3 = await ready(client, bob, renting(100))
    answer = await client.post(f"/wx/v1/housing-fund/withdrawals/{withdrawal_id}/submission", headers=bearer(l3))
    assert (answer.status_code, answer.json()["code"]) == (400, "idempotency_key_required")
