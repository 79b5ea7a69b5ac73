"""The housing fund journey with every part a real process: ``govhub serve`` with its scheduler
(the outbox relay), the department stub playing the fund centres, the mock WeChat server.
log in → real name → face → withdraw → paid; and the centre down when the citizen submits: the
request is kept, delivered when the centre is back, and paid once."""
from __future__ import annotations

import subprocess
import sys
import time

import httpx
import pytest

from miniprogram_mock.fund_journey import run_fund_journey
from tests.support.housing_fund import ALICE_BJ, BJ, BOB_HF, HF, HZ, fund_stub, payouts, stub_accounts
from tests.support.live_hub import REPO_ROOT, serving_nodes, tried_and_pending


@pytest.fixture(scope="module")
def live(live_hub):
    with serving_nodes(live_hub, lambda hub: fund_stub(hub_url=hub, delay=0.2), (BJ, HZ, HF)) as stub:
        yield live_hub.url, stub, live_hub.database_url


def until(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_withdraw_with_a_face_scan_and_the_money_is_paid(live, mock_url):
    hub, stub, _ = live
    done = subprocess.run([sys.executable, "-m", "miniprogram_mock", "journey", "fund", "--user", "bob",
                           "--base-url", hub, "--mock-url", mock_url], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "合肥住房公积金管理中心" in done.stdout and "杭州住房公积金管理中心" in done.stdout  # both cities
    assert "已到账: 32,150.00元 to 6217 **** **** 0025" in done.stdout, done.stdout
    assert "balance now 0.00元" in done.stdout, done.stdout
    [payout] = [p for p in payouts(stub) if p["account_no"] == BOB_HF]
    assert (payout["outcome"], payout["arrivals"], payout["amount_fen"]) == ("paid", 1, 3_215_000)
    assert stub_accounts(stub)[BOB_HF] == 0


def test_the_centre_down_keeps_the_request_and_pays_it_once_when_back(live, mock_url):
    hub, stub, database_url = live
    seen = run_fund_journey(hub, mock_url, user="alice", out=lambda line: None, submit=False)
    withdrawal = seen["withdrawal"]
    path = f"{hub}/wx/v1/housing-fund/withdrawals/{withdrawal['id']}"
    stub.stop()  # the Beijing centre is unreachable from here on
    try:
        answer = httpx.post(f"{path}/submission", headers={**seen["headers"], "Idempotency-Key": "k-down"},
                            timeout=15)
        assert answer.status_code == 200, answer.text
        until(lambda: tried_and_pending(database_url, BJ), "the relay to try the centre and fail")
        kept = httpx.get(path, headers=seen["headers"], timeout=5).json()
        assert kept["status"] == "requested"  # kept, not failed, not lost
        replay = httpx.post(f"{path}/submission", headers={**seen["headers"], "Idempotency-Key": "k-down"},
                            timeout=15)
        assert replay.headers.get("Idempotent-Replayed") == "true"
    finally:
        stub.start()
    until(lambda: httpx.get(path, headers=seen["headers"], timeout=5).json()["status"] != "requested",
          "the centre to pay once back")
    shown = httpx.get(path, headers=seen["headers"], timeout=5).json()
    assert (shown["status"], shown["amount_fen"]) == ("paid", 150_000)
    [payout] = [p for p in payouts(stub) if p["account_no"] == ALICE_BJ]
    assert (payout["outcome"], payout["arrivals"]) == ("paid", 1)
    assert stub_accounts(stub)[ALICE_BJ] == 5_680_000 - 150_000
