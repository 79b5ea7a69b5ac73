"""``govhub admin create`` on a fresh embedded database: the first operator, and refusals."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

from tests.support.live_hub import REPO_ROOT


def _govhub(tmp_path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVHUB_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}", "GOVHUB_REDIS_URL": "",
           "GOVHUB_LOG_LEVEL": "WARNING"}
    return subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=REPO_ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def test_admin_create_reads_the_password_from_stdin_and_audits(tmp_path):
    assert _govhub(tmp_path, "migrate").returncode == 0
    created = _govhub(tmp_path, "admin", "create", "--username", "first.ops", "--roles", "operator,topic_editor",
                      "--password-stdin", stdin="a long enough secret\n")
    assert created.returncode == 0, created.stderr
    assert "created first.ops (topic_editor, operator)" in created.stdout
    refused = _govhub(tmp_path, "admin", "create", "--username", "second", "--roles", "root", "--password-stdin",
                      stdin="short\n")
    assert refused.returncode == 1 and "roles" in refused.stderr and "password" in refused.stderr
    duplicate = _govhub(tmp_path, "admin", "create", "--username", "first.ops", "--roles", "operator",
                        "--password-stdin", stdin="a long enough secret\n")
    assert duplicate.returncode == 1
    with sqlite3.connect(tmp_path / "cli.sqlite3") as db:
        hashes = db.execute("SELECT password_hash FROM admin_accounts").fetchall()
        audit = db.execute("SELECT actor_username, action, target_id FROM audit_log").fetchall()
    assert len(hashes) == 1 and hashes[0][0].startswith("$argon2id$")
    assert audit == [("system:cli", "account.create", "first.ops")]


def test_the_password_never_comes_from_the_command_line(tmp_path):
    missing_flag = _govhub(tmp_path, "admin", "create", "--username", "x.y", "--roles", "operator")
    assert missing_flag.returncode == 2 and "--password-stdin" in missing_flag.stderr
