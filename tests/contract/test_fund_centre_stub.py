"""The fund-centre contract, hub side (adapters/departments/fund_centre_client.py) against the
centre side (the department stub's fund role), over real HTTP: signed queries only, "unreachable"
is an error and never an empty list, and the bank's return of a payout leaves the balance."""
from __future__ import annotations

import httpx
import pytest

from adapters.departments.fund_centre_client import HttpFundCentres
from domain.shared.errors import UpstreamUnavailable
from tests.support.housing_fund import BOB_HF, BOB_HZ, HF, HZ, fund_stub, register_centres, reset, unreachable


@pytest.fixture(scope="module")
def stub():
    with fund_stub() as running:
        yield running


@pytest.fixture
async def centres(resources, stub) -> HttpFundCentres:
    reset(stub)
    await register_centres(resources, stub)
    return HttpFundCentres(nodes=resources.services["nodes"], client_factory=resources.services["node_client_factory"],
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
