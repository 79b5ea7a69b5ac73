"""``govhub catalog import`` as a user runs it: a subprocess on a fresh database (a temp SQLite file
by default, a fresh PostgreSQL database when GOVHUB_DATABASE_URL names one)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.support.catalog_data import NAMES, record
from tests.support.live_hub import REPO_ROOT, fresh_database


@pytest.fixture(scope="module")
def database_url():
    with fresh_database(os.environ.get("GOVHUB_DATABASE_URL", "")) as url:
        yield url


def _govhub(database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVHUB_DATABASE_URL": database_url, "GOVHUB_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def test_import_reports_rejects_by_line_and_reimports_as_unchanged(tmp_path, database_url):
    rows = [record(i, NAMES[i], "330106000000", code=f"CLI-{i}") for i in range(5)]
    lines = [json.dumps(r, ensure_ascii=False) for r in rows]
    lines.insert(2, '{"code": "CLI-x",')  # line 3
    lines.append(json.dumps({**rows[0], "code": "CLI-9", "region_code": "33"}))  # line 7
    source = tmp_path / "matters.jsonl"
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"

    done = _govhub(database_url, "catalog", "import", str(source), "--rejects", str(rejects), "--progress")
    assert done.returncode == 0, done.stderr
    assert "read 7, inserted 5, updated 0, unchanged 0, rejected 2" in done.stdout
    assert "line 3: malformed JSON" in done.stderr and "line 7: region_code: 12 digits" in done.stderr
    assert "rows/s" in done.stderr  # the progress bar
    assert [json.loads(x)["line"] for x in rejects.read_text().splitlines()] == [3, 7]

    again = _govhub(database_url, "catalog", "import", str(source), "--no-progress")
    assert again.returncode == 0 and "inserted 0, updated 0, unchanged 5, rejected 2" in again.stdout


def test_csv_through_the_command(tmp_path, database_url):
    source = tmp_path / "matters.csv"
    source.write_text("code,catalog_code,name,kind,region_code,department_code,channels\n"
                      "CLI-C1,NAT-C1,社会保障卡申领,public_service,330106000000,330106-hrss,wechat|pc\n"
                      "CLI-C2,NAT-C2,户口迁移,public_service,330106000000\n", encoding="utf-8")
    done = _govhub(database_url, "catalog", "import", str(source))
    assert done.returncode == 0, done.stderr
    assert "inserted 1" in done.stdout and "line 3: expected 7 cells, found 5" in done.stderr


def test_a_file_that_cannot_be_read_exits_1(tmp_path, database_url):
    missing = _govhub(database_url, "catalog", "import", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 1 and "nope.jsonl" in missing.stderr
    header = tmp_path / "bad.csv"
    header.write_text("code,title\n", encoding="utf-8")
    unusable = _govhub(database_url, "catalog", "import", str(header))
    assert unusable.returncode == 1 and "the CSV header lacks" in unusable.stderr
    unknown = _govhub(database_url, "catalog", "import", str(tmp_path / "matters.xlsx"))
    assert unknown.returncode == 1 and "--format" in unknown.stderr
