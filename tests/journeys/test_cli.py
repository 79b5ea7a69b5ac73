"""The govhub command line on a fresh embedded database: migrate, seed, nodes, keys."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.live_hub import REPO_ROOT


def _govhub(folder, *args: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "GOVHUB_DATABASE_URL": f"sqlite://{folder / 'cli.sqlite3'}", "GOVHUB_REDIS_URL": "",
           "GOVHUB_LOG_LEVEL": "WARNING", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """One database migrated and seeded from the command line, for the tests that only add to it
    (each command is a process that loads the whole hub: seconds apiece)."""
    folder = tmp_path_factory.mktemp("cli")
    assert _govhub(folder, "migrate").returncode == 0
    done = _govhub(folder, "seed")
    assert done.returncode == 0, done.stderr
    return folder


def test_migrate_seed_and_manage_nodes(seeded):
    assert _govhub(seeded, "seed").returncode == 0  # idempotent
    key = REPO_ROOT / "devkeys" / "demo_node_zhejiang_public.pem"
    added = _govhub(seeded, "nodes", "add", "--code", "ah-platform", "--kind", "province", "--name", "安徽政务服务网",
                    "--region", "340000000000", "--public-key", str(key))
    assert added.returncode == 0, added.stderr
    assert _govhub(seeded, "nodes", "disable", "ah-platform").returncode == 0
    listed = _govhub(seeded, "nodes", "list").stdout
    assert "ah-platform\tprovince\t340000000000\tdisabled" in listed and "zj-platform" in listed
    rotated = _govhub(seeded, "keys", "rotate")
    assert rotated.returncode == 0 and "new signing key" in rotated.stdout


def test_production_mode_refuses_to_start(tmp_path):
    refused = _govhub(tmp_path, "serve", env_extra={"GOVHUB_ENV": "production"})
    assert refused.returncode == 2 and "production mode refuses to start" in refused.stderr


def test_seals_are_bound_to_license_types_and_the_anchor_is_printed_to_pin(seeded):
    create = ("seals", "create", "--code", "seal-bj-dl", "--department", "110000-public_security", "--node", "bj-psb",
              "--name", "北京市公安局驾驶证专用章")
    made = _govhub(seeded, *create, "--license-type", "driving_license")
    assert made.returncode == 0 and made.stdout.strip().endswith("for driving_license"), made.stderr
    foreign = _govhub(seeded, *create[:3], "seal-bj-odd", *create[4:], "--license-type", "business_license")
    assert foreign.returncode == 1 and "license_types" in foreign.stderr
    listed = _govhub(seeded, "seals", "list").stdout
    assert "seal-bj-dl\t110000-public_security\tbj-psb" in listed and listed.count("driving_license") >= 2
    assert "seal-zj-market" in listed and "individual_business_license" in listed
    anchor = _govhub(seeded, "seals", "anchor").stdout
    assert anchor.startswith("govhub-platform\tkey id ") and len(anchor.split("fingerprint ")[1].strip()) == 64
