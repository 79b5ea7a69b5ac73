"""The govhub command line on a fresh embedded database: migrate, seed, nodes, keys."""
from __future__ import annotations

import os
import subprocess
import sys

from tests.support.live_hub import REPO_ROOT


def _govhub(tmp_path, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVHUB_DATABASE_URL": f"sqlite://{tmp_path / 'cli.sqlite3'}", "GOVHUB_REDIS_URL": "",
           "GOVHUB_LOG_LEVEL": "WARNING", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_migrate_seed_and_manage_nodes(tmp_path):
    assert _govhub(tmp_path, "migrate").returncode == 0
    seeded = _govhub(tmp_path, "seed")
    assert seeded.returncode == 0, seeded.stderr
    assert _govhub(tmp_path, "seed").returncode == 0  # idempotent
    key = REPO_ROOT / "devkeys" / "demo_node_zhejiang_public.pem"
    added = _govhub(tmp_path, "nodes", "add", "--code", "ah-platform", "--kind", "province", "--name", "安徽政务服务网",
                    "--region", "340000000000", "--public-key", str(key))
    assert added.returncode == 0, added.stderr
    assert _govhub(tmp_path, "nodes", "disable", "ah-platform").returncode == 0
    listed = _govhub(tmp_path, "nodes", "list").stdout
    assert "ah-platform\tprovince\t340000000000\tdisabled" in listed and "zj-platform" in listed
    rotated = _govhub(tmp_path, "keys", "rotate")
    assert rotated.returncode == 0 and "new signing key" in rotated.stdout


def test_production_mode_refuses_to_start(tmp_path):
    refused = _govhub(tmp_path, "serve", env_extra={"GOVHUB_ENV": "production"})
    assert refused.returncode == 2 and "production mode refuses to start" in refused.stderr


def test_seals_are_bound_to_license_types_and_the_anchor_is_printed_to_pin(tmp_path):
    assert _govhub(tmp_path, "migrate").returncode == 0
    assert _govhub(tmp_path, "seed").returncode == 0
    create = ("seals", "create", "--code", "seal-bj-dl", "--department", "110000-public_security", "--node", "bj-psb",
              "--name", "北京市公安局驾驶证专用章")
    made = _govhub(tmp_path, *create, "--license-type", "driving_license")
    assert made.returncode == 0 and made.stdout.strip().endswith("for driving_license"), made.stderr
    foreign = _govhub(tmp_path, *create[:3], "seal-bj-odd", *create[4:], "--license-type", "business_license")
    assert foreign.returncode == 1 and "license_types" in foreign.stderr
    listed = _govhub(tmp_path, "seals", "list").stdout
    assert "seal-bj-dl\t110000-public_security\tbj-psb" in listed and listed.count("driving_license") >= 2
    assert "seal-zj-market" in listed and "individual_business_license" in listed
    anchor = _govhub(tmp_path, "seals", "anchor").stdout
    assert anchor.startswith("govhub-platform\tkey id ") and len(anchor.split("fingerprint ")[1].strip()) == 64
