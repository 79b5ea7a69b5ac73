"""``govhub regions import FILE`` on a fresh embedded database: progress, rejected rows, re-import."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support.live_hub import REPO_ROOT

NATIONAL = """code,name,parent
330000000000,浙江省,
330100000000,杭州市,330000000000
330106000000,西湖区,330100000000
33010X000000,坏代码,330100000000
330106002000,北山街道,330106000000
"""


def _govhub(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVHUB_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}", "GOVHUB_REDIS_URL": "",
           "GOVHUB_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_import_reports_rejected_rows_and_counts_then_is_idempotent(tmp_path):
    national = tmp_path / "national.csv"
    national.write_text(NATIONAL, encoding="utf-8")
    assert _govhub(tmp_path, "migrate").returncode == 0
    first = _govhub(tmp_path, "regions", "import", str(national), "--progress")
    assert first.returncode == 0, first.stderr
    assert "line 5: 33010X000000 bad_code" in first.stderr
    assert "regions: 100%" in first.stderr and "B/s" in first.stderr  # the bar: rate, then ETA while running
    assert first.stdout.strip().splitlines()[-1] == "inserted 4, updated 0, unchanged 0, rejected 1"
    again = _govhub(tmp_path, "regions", "import", str(national))
    assert again.stdout.strip().splitlines()[-1] == "inserted 0, updated 0, unchanged 4, rejected 1"
    assert "regions:" not in again.stderr  # no bar when standard error is not a terminal


def test_a_missing_file_is_an_error(tmp_path):
    missing = _govhub(tmp_path, "regions", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 1 and "no such file" in missing.stderr
