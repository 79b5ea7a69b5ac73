"""The data-sharing journey over real HTTP (miniprogram_mock/sharing_journey.py): the Beijing
platform asks for the household extract, bj-psb approves fewer fields, the platform calls through
/r1 (the department stub answering as bj-psb) and checks the request hash; the citizen sees the
use. Then the message log, time-stamped by the stub's RFC 3161 authority, verifies from the CLI."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time

import pytest

from miniprogram_mock.sharing_journey import run_sharing_journey
from tests.support.live_hub import REPO_ROOT, govhub_cli, serving_nodes
from tests.support.sharing import provider_stub


@pytest.fixture(scope="module")
def providers(live_hub):
    with serving_nodes(live_hub, lambda hub_url: provider_stub(), ("bj-psb", "bj-hrss", "bj-amr")) as stub:
        yield stub


def test_ask_approve_call_and_see_it_in_the_tracker(live_hub, providers, mock_url):
    lines: list[str] = []
    seen = run_sharing_journey(live_hub.url, mock_url, out=lines.append)
    assert seen["grant"]["fields_granted"] == ["name", "sex"]
    assert set(seen["answer"]) == {"name", "sex"}  # household_address was asked for and never granted
    assert seen["use"]["department"] == "beijing-platform" and seen["use"]["fields"] == ["name", "sex"]
    assert len(lines) == 6, lines


def test_the_message_log_is_chained_stamped_and_verifies(live_hub, providers, mock_url):
    run_sharing_journey(live_hub.url, mock_url, out=lambda line: None)
    deadline = time.monotonic() + 30
    while True:  # the scheduler stamps each second
        report = govhub_cli(live_hub.env, "sharing", "verify-log")
        if "not yet stamped: 0" in report or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert "chain intact" in report and ", 0 bad" in report and "not yet stamped: 0" in report, report


def test_journey_command_line(live_hub, providers, mock_url):
    done = subprocess.run([sys.executable, "-m", "miniprogram_mock", "journey", "data-sharing", "--base-url",
                           live_hub.url, "--mock-url", mock_url], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "request hash matches" in done.stdout


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
def test_a_timestamp_verifies_with_openssl(live_hub, providers, mock_url, tmp_path):
    run_sharing_journey(live_hub.url, mock_url, out=lambda line: None)
    deadline = time.monotonic() + 30
    while not (listed := govhub_cli(live_hub.env, "sharing", "stamps").splitlines()) and time.monotonic() < deadline:
        time.sleep(0.5)
    stamp_id, _, _, digest = listed[-1].split("\t")
    token = tmp_path / "token.der"
    govhub_cli(live_hub.env, "sharing", "export-stamp", stamp_id, str(token))
    checked = subprocess.run(["openssl", "ts", "-verify", "-digest", digest, "-token_in", "-in", str(token),
                              "-CAfile", str(REPO_ROOT / "devkeys/tsa_cert.pem")], capture_output=True, text=True,
                             timeout=30)
    assert "Verification: OK" in checked.stdout, checked.stdout + checked.stderr
