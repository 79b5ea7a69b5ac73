"""The newborn bundle through the mock client with both parents, every part a real process:
``govhub serve`` with its scheduler (the outbox relay and the bundle job), the department stub
answering as zj-platform and issuing the licenses, the mock WeChat/SMS server. The mother applies
on WeChat, the father confirms on the app, every step ends done, the certificates are in the wallet."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support.department_stub import running_stub
from tests.support.live_hub import REPO_ROOT, serving_nodes


@pytest.fixture(scope="module")
def hub_url(live_hub):
    with serving_nodes(live_hub, lambda hub: running_stub(hub_url=hub, delay=0.1), ("zj-platform",)):
        yield live_hub.url


def test_newborn_with_both_parents_from_the_command_line(hub_url, mock_url):
    done = subprocess.run([sys.executable, "-m", "miniprogram_mock", "journey", "newborn", "--base-url", hub_url,
                           "--mock-url", mock_url], cwd=REPO_ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "household registration waits for the other parent's confirmation" in out
    assert "bob confirmed (confirmed)" in out
    assert "every step done: 全部办结" in out
    assert "birth_medical_certificate" in out and "vaccination_certificate" in out
