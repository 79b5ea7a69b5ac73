"""The health-code journey over real HTTP (miniprogram_mock/health_journey.py): alice declares in
Hangzhou and gets Zhejiang's code, signed by Zhejiang itself (the department stub plays its signing
service); a Beijing checkpoint's verifier downloads the lists once and checks the code offline; the
Beijing platform asks online and hears the same. Then the verifier's own command line."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from miniprogram_mock.health_journey import run_health_journey
from tests.support.department_stub import running_stub
from tests.support.live_hub import REPO_ROOT, serving_nodes


@pytest.fixture(scope="module")
def zhejiang(live_hub):
    with serving_nodes(live_hub, lambda hub: running_stub(hub_url=hub, review=False), ("zj-platform",)) as stub:
        yield stub


def test_declare_get_zhejiangs_code_and_have_it_checked_offline_in_beijing(live_hub, zhejiang, mock_url, tmp_path):
    lines: list[str] = []
    seen = run_health_journey(live_hub.url, mock_url, cache=tmp_path, out=lines.append)
    assert seen["code"]["region"] == "330000" and seen["code"]["colour"] == "green"
    assert seen["offline"]["result"] == seen["online"]["result"] == "accepted"
    assert seen["offline"]["key_source"] == "downloaded"
    assert len(lines) == 6, lines
    pin = json.loads((tmp_path / "anchor.json").read_text())["key_id"]
    assert pin  # the cache holds the anchor the lists were checked against
    done = subprocess.run([sys.executable, "-m", "verifier", "health-check", seen["code"]["credential"],
                           "--region", "110000", "--cache", str(tmp_path), "--anchor",
                           _fingerprint(tmp_path)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["result"] == "accepted"


def test_journey_command_line(live_hub, zhejiang, mock_url):
    done = subprocess.run([sys.executable, "-m", "miniprogram_mock", "journey", "health-code", "--base-url",
                           live_hub.url, "--mock-url", mock_url], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=90)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "offline at a Beijing checkpoint: accepted" in done.stdout


def _fingerprint(cache) -> str:
    from verifier.offline import fingerprint

    return fingerprint(json.loads((cache / "anchor.json").read_text())["public_key_pem"])
