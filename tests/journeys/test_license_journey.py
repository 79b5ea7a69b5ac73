"""The license journey through the scripted client over real HTTP: a demo department issues over
signed /gov/v1, the citizen finds the license in the WeChat wallet, shows it, and the offline
verifier (verifier/) accepts it with only the downloaded trust and status lists — in process, and
as the command line a verifier's operator runs (fetch, check, check again: a replay)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from miniprogram_mock.license_journey import run_license_journey
from tests.support.live_hub import REPO_ROOT, govhub_cli


@pytest.fixture(scope="module")
def live(live_hub):
    # the operator tells verifiers the anchor's fingerprint out of band
    pin = govhub_cli(live_hub.env, "seals", "anchor").split("fingerprint ")[1].strip()
    return {"url": live_hub.url, "pin": pin}


@pytest.fixture(scope="module")
def hub_url(live):
    return live["url"]


def test_issue_wallet_show_verify_offline(live, mock_url):
    lines: list[str] = []
    result = run_license_journey(live["url"], mock_url, node_key=REPO_ROOT / "devkeys/demo_node_beijing_psb_private.pem",
                                 anchor_pin=live["pin"], out=lines.append)
    assert result["verification"]["result"] == "valid", lines
    assert result["verification"]["fields"] == {"name": "张丽", "sex": "女"}
    assert result["presentation"]["bytes"] < 1000
    assert any("110105********0017" in line for line in lines), lines  # the wallet masks the ID number
    assert len(lines) == 6


def test_journey_command_line(hub_url, mock_url):
    done = subprocess.run([sys.executable, "-m", "miniprogram_mock", "journey", "licenses", "--base-url", hub_url,
                           "--mock-url", mock_url], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verified offline: valid" in done.stdout


def _verifier(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "verifier", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)


def test_the_verifier_command_line_remembers_and_repairs_its_cache(live, mock_url, tmp_path):
    shown = run_license_journey(live["url"], mock_url, node_key=REPO_ROOT / "devkeys/demo_node_beijing_psb_private.pem",
                                anchor_pin=live["pin"], out=lambda line: None)["presentation"]["token"]
    cache, pin = str(tmp_path / "vc"), live["pin"]
    fetched = _verifier("fetch", "--hub", live["url"], "--anchor", pin, "--cache", cache)
    assert fetched.returncode == 0, fetched.stderr
    assert json.loads(fetched.stdout)["status_lists"] >= 1
    first, again = _verifier("check", "--anchor", pin, "--cache", cache, shown), \
        _verifier("check", "--anchor", pin, "--cache", cache, shown)
    assert (first.returncode, json.loads(first.stdout)["result"]) == (0, "valid"), first.stdout + first.stderr
    assert (again.returncode, json.loads(again.stdout)["result"]) == (1, "replayed")
    assert _verifier("fetch", "--hub", live["url"], "--anchor", "0" * 64, "--cache", cache).returncode != 0
    trust = tmp_path / "vc" / "trust.json"
    trust.write_text(trust.read_text().replace('"public_security"', '"market_supervision"', 1))
    assert _verifier("check", "--anchor", pin, "--cache", cache, shown).returncode == 2
    repaired = _verifier("fetch", "--hub", live["url"], "--anchor", pin, "--cache", cache)
    assert repaired.returncode == 0 and "discarding the cache" in repaired.stderr
    assert json.loads(_verifier("check", "--anchor", pin, "--cache", cache, shown).stdout)["result"] == "replayed"
