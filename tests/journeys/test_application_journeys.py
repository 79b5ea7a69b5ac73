"""The application journeys through the mock client, with every part a real process: ``govhub serve``
with its scheduler (the outbox relay), the department stub answering as zj-platform, the mock
WeChat server. apply → the department accepts … completes → the messages seen at mock WeChat;
instant approval end to end."""
from __future__ import annotations

import subprocess
import sys

import pytest

from miniprogram_mock.application_journey import run_apply_journey, run_instant_journey
from tests.support.department_stub import running_stub
from tests.support.live_hub import REPO_ROOT, serving_nodes


@pytest.fixture(scope="module")
def hub_url(live_hub):
    with serving_nodes(live_hub, lambda hub: running_stub(hub_url=hub, delay=0.2), ("zj-platform",)):
        yield live_hub.url


def test_apply_then_the_department_decides_and_the_citizen_is_told_on_wechat(hub_url, mock_url):
    lines: list[str] = []
    result = run_apply_journey(hub_url, mock_url, out=lines.append, timeout=90)
    assert result["detail"]["status"] == "completed", lines
    statuses = [m["data"]["phrase3"]["value"] for m in result["messages"]]
    # one each; the relay sends in parallel, so two due in one batch may arrive in either order
    assert sorted(statuses) == sorted(["已受理", "审查中", "准予办理", "已办结"]), lines
    assert all(m["page"] == f"pages/applications/detail?no={result['number']}" for m in result["messages"])


def test_instant_approval_end_to_end_from_the_command_line(hub_url, mock_url):
    done = subprocess.run([sys.executable, "-m", "miniprogram_mock", "journey", "instant", "--base-url", hub_url,
                           "--mock-url", mock_url], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "即时办结" in done.stdout and "the business license is in the wallet" in done.stdout
    assert "WeChat delivered one message: 已办结" in done.stdout


def test_a_second_instant_journey_gets_its_own_name_and_code(hub_url, mock_url):
    first = run_instant_journey(hub_url, mock_url, out=lambda line: None)
    second = run_instant_journey(hub_url, mock_url, out=lambda line: None)
    codes = {r["application"]["instant_approval"]["credit_code"] for r in (first, second)}
    assert len(codes) == 2
