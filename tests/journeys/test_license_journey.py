"""The license journey through the scripted client over real HTTP: a demo department issues over
signed /gov/v1, the citizen finds the license in the WeChat wallet, shows it, and the offline
verifier (verifier/) accepts it with only the downloaded trust and status lists."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from miniprogram_mock.license_journey import run_license_journey
from tests.support.live_hub import REPO_ROOT, fresh_database, running_hub


@pytest.fixture(scope="module")
def hub_url(database_url, redis_url, mock_url):
    with fresh_database(os.environ.get("GOVHUB_DATABASE_URL", "") or database_url) as url:
        env = {**os.environ, "GOVHUB_DATABASE_URL": url, "GOVHUB_REDIS_URL": redis_url, "GOVHUB_LOG_LEVEL": "WARNING"}
        seeded = subprocess.run([sys.executable, "-m", "bff.cli", "seed"], cwd=REPO_ROOT, env=env,
                                capture_output=True, text=True, timeout=120)
        assert seeded.returncode == 0, seeded.stdout + seeded.stderr
        assert "demo seals and licenses" in seeded.stdout
        with running_hub(database_url=url, redis_url=redis_url, mock_url=mock_url) as hub:
            yield hub


def test_issue_wallet_show_verify_offline(hub_url, mock_url):
    lines: list[str] = []
    result = run_license_journey(hub_url, mock_url, node_key=REPO_ROOT / "devkeys/demo_node_beijing_psb_private.pem",
                                 out=lines.append)
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
