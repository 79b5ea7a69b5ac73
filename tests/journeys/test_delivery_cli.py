"""`govhub seed` points the demo provincial platforms at the department stub; `govhub nodes`
sets and shows endpoints, and says plainly what is wrong with a bad one."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support.live_hub import REPO_ROOT

PROVINCES = {"beijing-platform": "110000000000", "tianjin-platform": "120000000000",
             "hebei-platform": "130000000000", "shanghai-platform": "310000000000",
             "jiangsu-platform": "320000000000", "zj-platform": "330000000000", "anhui-platform": "340000000000"}


def _govhub(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVHUB_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}", "GOVHUB_REDIS_URL": "",
           "GOVHUB_LOG_LEVEL": "WARNING", "GOVHUB_STUB_PORT": "8002"}
    return subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def _listed(tmp_path) -> dict[str, list[str]]:
    rows = [line.split("\t") for line in _govhub(tmp_path, "nodes", "list").stdout.splitlines()]
    return {row[0]: row for row in rows}


def test_seeded_provinces_deliver_to_the_stub_and_endpoints_are_managed(tmp_path):
    assert _govhub(tmp_path, "migrate").returncode == 0
    seeded = _govhub(tmp_path, "seed")
    assert seeded.returncode == 0, seeded.stderr
    nodes = seeded_nodes = _listed(tmp_path)
    for code, region in PROVINCES.items():
        assert nodes[code][1:3] == ["province", region]
        assert nodes[code][-1] == f"http://127.0.0.1:8002/nodes/{code}"
    assert nodes["bj-psb"][-1] == "http://127.0.0.1:8002/nodes/bj-psb"

    moved = _govhub(tmp_path, "nodes", "set-endpoint", "zj-platform", "https://zj.example.cn/hub")
    assert moved.returncode == 0 and "https://zj.example.cn/hub" in moved.stdout
    assert _govhub(tmp_path, "seed").returncode == 0  # idempotent, and leaves an operator's endpoint alone
    bad = _govhub(tmp_path, "nodes", "set-endpoint", "zj-platform", "zj.example.cn")
    assert bad.returncode == 1 and "endpoint_url" in bad.stderr and "Traceback" not in bad.stderr
    added = _govhub(tmp_path, "nodes", "add", "--code", "gd-platform", "--kind", "province", "--name", "广东政务服务网",
                    "--region", "440000000000", "--public-key", str(REPO_ROOT / "devkeys/demo_node_anhui_public.pem"),
                    "--endpoint", "https://gd.example.cn")
    assert added.returncode == 0, added.stderr
    nodes = _listed(tmp_path)
    assert nodes["zj-platform"][-1] == "https://zj.example.cn/hub"
    assert nodes["gd-platform"][-1] == "https://gd.example.cn"
    assert len(nodes) == len(seeded_nodes) + 1 and set(seeded_nodes) < set(nodes)  # the second seed added none
