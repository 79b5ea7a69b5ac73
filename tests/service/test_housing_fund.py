"""The housing fund service on the real database and the real stub centre: the quota row under
concurrent reservations, two submissions past the check at once, a stale face scan, and the
centre's side — one payout id paid once, however often it arrives."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from tortoise.transactions import in_transaction

from domain.housing_fund.errors import FaceBindingMissing, WithdrawalLimitExceeded
from domain.housing_fund.models import Quota, Withdrawal
from domain.housing_fund.quotas import reserve
from domain.housing_fund.service import HousingFundService, _key_claim
from domain.shared.clock import FrozenClock
from tests.support.clock import suite_clock
from tests.support.housing_fund import (
    BOB_HF,
    HF,
    fund_stub,
    leaving,
    payouts,
    ready,
    register_centres,
    renting,
    reset,
    stub_accounts,
    verified,
)


@pytest.fixture(scope="module")
def stub():
    with fund_stub() as running:
        yield running


@pytest.fixture
async def bob(client, mock_url, resources, stub):
    reset(stub)
    await register_centres(resources, stub)
    return await verified(client, mock_url)


def service_with(resources, clock) -> HousingFundService:
    fund = resources.housing_fund
    return HousingFundService(clock=clock, vault=fund.vault, identity=fund.identity, nodes=fund.nodes,
                              applications=fund.applications, wallet=fund.wallet, centres=fund.centres,
                              cards=fund.cards, signer=fund.signer)


async def test_the_quota_row_lets_exactly_the_room_through_under_concurrency(resources):
    now = suite_clock.now()

    async def take() -> bool:
        async with in_transaction() as conn:
            return await reserve(conn, "c:1", "renting:2026-11", 100, 500, now)

    taken = await asyncio.gather(*(take() for _ in range(12)))
    assert taken.count(True) == 5
    assert (await Quota.get(account_key="c:1", period_key="renting:2026-11")).used_fen == 500


async def test_two_submissions_past_the_check_at_once_only_one_takes_the_limit(client, resources, bob):
    fund = resources.housing_fund
    person = bob["person"]["id"]
    ids = [(await ready(client, bob, renting(100_000)))[0] for _ in range(2)]
    rows = [await Withdrawal.get(public_id=i) for i in ids]
    who = await fund.identity.reveal(person_id=person)
    # both judged before either reserves: each alone is within the month's 1,500 yuan
    checked = [await fund._check(person, who, "renting", r.centre_code, r.account_no, {}, [], r.amount_fen)
               for r in rows]
    assert all(c.eligibility.eligible for c in checked)
    faces = [await fund._face_bound(person, r, suite_clock.now()) for r in rows]
    outcomes = await asyncio.gather(*(fund._store_submission(r, c, [], _key_claim(r, f"key-{n}"), face=f, id_number=who["id_number"])
                                      for n, (r, c, f) in enumerate(zip(rows, checked, faces))),
                                    return_exceptions=True)
    assert sum(o is None for o in outcomes) == 1
    assert [type(o) for o in outcomes if o is not None] == [WithdrawalLimitExceeded]
    statuses = sorted(await Withdrawal.all().values_list("status", flat=True))
    assert statuses == ["awaiting_face", "requested"]  # the loser's claim rolled back with it


async def test_a_face_scan_older_than_five_minutes_does_not_authorise(client, resources, bob):
    clock = FrozenClock(suite_clock.now())
    service = service_with(resources, clock)
    withdrawal_id, _ = await ready(client, bob, leaving())
    clock.advance(301)
    with pytest.raises(FaceBindingMissing) as refused:
        await service.submit(person_id=bob["person"]["id"], withdrawal_id=withdrawal_id, idempotency_key="k")
    assert "5分钟" in refused.value.detail and refused.value.code == "assurance_required"
    assert (await Withdrawal.get(public_id=withdrawal_id)).status == "awaiting_face"
    before = (await Withdrawal.get(public_id=withdrawal_id)).face_session_id
    fresh = await service.restart_face(person_id=bob["person"]["id"], withdrawal_id=withdrawal_id, channel="wechat")
    assert fresh.id != before  # a new scan, and only the newest is bound
    assert (await Withdrawal.get(public_id=withdrawal_id)).face_session_id == fresh.id


async def test_the_centre_pays_one_payout_id_once_however_often_it_arrives(client, resources, bob, stub):
    withdrawal_id, l3 = await ready(client, bob, leaving())
    answer = await client.post(f"/wx/v1/housing-fund/withdrawals/{withdrawal_id}/submission",
                               headers={"Authorization": f"Bearer {l3['access_token']}", "Idempotency-Key": "k"})
    assert answer.status_code == 200, answer.text
    delivery = resources.delivery
    assert (await delivery.relay_due(10)).delivered == 1
    row = await Withdrawal.get(public_id=withdrawal_id)
    # the same instruction in a second delivery (an operator's copy, a replayed resubmission)
    [sent] = await _deliveries(resources)
    await delivery.enqueue(kind="node.application.submitted", target=HF, payload=delivery.payload_of(sent),
                           dedupe_key="copy-of-the-instruction")
    assert (await delivery.relay_due(10)).delivered == 1
    await _until(lambda: [p["outcome"] for p in payouts(stub)] == ["paid"])
    [paid] = payouts(stub)
    assert (paid["payout_id"], paid["arrivals"], paid["amount_fen"]) == (row.payout_id, 2, 3_215_000)
    assert stub_accounts(stub)[BOB_HF] == 0  # debited once
    arrivals = httpx.get(f"{stub.url}/_stub/deliveries", timeout=5).json()
    assert arrivals["unique"] == 2 and all(d["processed"] == 1 for d in arrivals["deliveries"])


async def _deliveries(resources):
    from domain.delivery.models import Delivery

    return await Delivery.filter(kind="node.application.submitted")


async def _until(condition, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.1)


async def test_a_card_the_bank_returns_leaves_the_balance_and_reports_returned(client, resources, bob, stub):
    from tests.support.housing_fund import BOB_HZ, BOB_RETURNING_CARD

    withdrawal_id, l3 = await ready(client, bob, renting(100_000, bank_card_no=BOB_RETURNING_CARD))
    answer = await client.post(f"/wx/v1/housing-fund/withdrawals/{withdrawal_id}/submission",
                               headers={"Authorization": f"Bearer {l3['access_token']}", "Idempotency-Key": "k"})
    assert answer.status_code == 200, answer.text
    assert (await resources.delivery.relay_due(10)).delivered == 1
    await _until(lambda: [p["outcome"] for p in payouts(stub)] == ["returned"])
    assert stub_accounts(stub)[BOB_HZ] == 3_000_000
    callbacks = httpx.get(f"{stub.url}/_stub/fund/callbacks", timeout=5).json()["callbacks"]
    assert [c["type"] for c in callbacks] == ["returned"]  # owed to the hub, retried until it answers
