"""The three login journeys of the scripted mini-program/app client, over real HTTP end to end:
client -> hub (a real `govhub serve` process) -> mock WeChat/Alipay/SMS servers."""
from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from miniprogram_mock.journey import run_login_journey
from tests.support.live_hub import REPO_ROOT, fresh_database, running_hub
from tests.support.workers import own_redis


@pytest.fixture(scope="module")
def hub_url(database_url, redis_url, mock_url):
    with fresh_database(os.environ.get("GOVHUB_DATABASE_URL", "") or database_url) as url:
        with running_hub(database_url=url, redis_url=own_redis(redis_url), mock_url=mock_url) as hub:
            yield hub


@pytest.mark.parametrize("channel", ["wechat", "alipay", "app"])
def test_login_journey(hub_url, mock_url, channel):
    lines = []
    result = run_login_journey(channel, hub_url, mock_url, out=lines.append)
    assert result, lines
    assert any("401" in line for line in lines), lines  # logout took effect


def test_journey_command_line(hub_url, mock_url):
    done = subprocess.run([sys.executable, "-m", "miniprogram_mock", "journey", "login", "--channel", "wechat",
                           "--base-url", hub_url, "--mock-url", mock_url], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "110105********0017" in done.stdout


def test_an_oversized_body_is_413_on_sanics_own_server_before_any_guard(hub_url):
    """Sanic's server finds the body too large while reading it, then runs the request middleware
    on its error path: the hub's own body check answers first (bff/common/request_cycle.py), or a
    guarded route would answer 401 to what is a 413."""
    too_large = b"{" + b" " * 1_100_000 + b"}"  # GOVHUB_MAX_BODY_BYTES is 1 MiB
    for path in ("/wx/v1/applications", "/app/v1/sms-codes"):
        response = httpx.post(hub_url + path, content=too_large, headers={"Content-Type": "application/json"},
                              timeout=30)
        assert (response.status_code, response.json()["code"]) == (413, "payload_too_large"), (path, response.text)
