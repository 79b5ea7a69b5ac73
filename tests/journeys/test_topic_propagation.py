"""Two real hub instances on one database and one real Redis: a topic switched on or off through
instance A shows on instance B within a second, although B answers from its in-memory cache.

fakeredis lives inside one process, so two processes cannot share it: this needs GOVHUB_REDIS_URL.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.live_hub import REPO_ROOT, fresh_database, running_hub

REDIS_URL = os.environ.get("GOVHUB_REDIS_URL", "")
pytestmark = pytest.mark.skipif(
    not REDIS_URL, reason="two hub processes need a shared real Redis for pub/sub: set GOVHUB_REDIS_URL")

PROPAGATION_LIMIT = 1.0  # seconds, the product's promise
XIHU = "330106000000"
TOPIC = {"code": "fugong", "title": "复工复产", "channels": ["wechat"], "regions": ["330000000000"],
         "entries": [{"kind": "matter", "ref": "NAT-0021"}]}


@pytest.fixture(scope="module")
def hubs(mock_url):
    base = os.environ.get("GOVHUB_DATABASE_URL", "sqlite://unused")  # SQLite: one file both processes open
    with fresh_database(base) as database_url:
        _create_editor(database_url)
        # One after the other: each has running_hub's 30 s to start, not shared with the other.
        with running_hub(database_url=database_url, redis_url=REDIS_URL, mock_url=mock_url) as a, \
                running_hub(database_url=database_url, redis_url=REDIS_URL, mock_url=mock_url) as b:
            yield a, b


def _create_editor(database_url: str) -> None:
    env = {**os.environ, "GOVHUB_DATABASE_URL": database_url, "GOVHUB_REDIS_URL": REDIS_URL,
           "GOVHUB_LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-m", "bff.cli", "admin", "create", "--username", "editor",
                           "--roles", "topic_editor", "--password-stdin"], input="journey-topics-pass\n",
                          cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr


def _public(hub: str) -> tuple[list[str], str]:
    response = httpx.get(f"{hub}/public/v1/topics", params={"channel": "wechat", "region": XIHU}, timeout=2)
    assert response.status_code == 200, response.text
    return [t["code"] for t in response.json()["items"]], response.headers["X-Cache"]


def _poll(hub: str, until, limit: float) -> tuple[float, tuple[list[str], str]]:
    """Read ``hub`` every 20 ms until ``until(answer)``; returns (seconds taken, answer)."""
    started = time.monotonic()
    while True:
        answer = _public(hub)
        elapsed = time.monotonic() - started
        if until(answer) or elapsed > limit:
            return elapsed, answer
        time.sleep(0.02)


def _warm(hub: str, codes: list[str]) -> None:
    """Until ``hub`` answers ``codes`` from its cache: it has subscribed and holds the list."""
    _, answer = _poll(hub, lambda a: a == (codes, "hit"), limit=10)
    assert answer == (codes, "hit"), f"instance never served from its cache: {answer}"


def test_switching_a_topic_on_and_off_reaches_the_other_instance_within_a_second(hubs):
    a, b = hubs
    login = httpx.post(f"{a}/admin/v1/session", json={"username": "editor", "password": "journey-topics-pass"})
    editor = {"Authorization": f"Bearer {login.json()['token']}"}
    assert httpx.post(f"{a}/admin/v1/topics", json=TOPIC, headers=editor).status_code == 201

    _warm(b, [])  # B holds "no topics" in memory and would keep serving it without an invalidation
    assert httpx.post(f"{a}/admin/v1/topics/fugong/publish", headers=editor).status_code == 200
    elapsed, answer = _poll(b, lambda a: a[0] == ["fugong"], limit=PROPAGATION_LIMIT)
    assert answer[0] == ["fugong"] and elapsed <= PROPAGATION_LIMIT, f"B still showed {answer} after {elapsed:.3f} s"
    assert answer[1] == "miss"  # B read the database again because it was told to
    print(f"switched on: B followed within {elapsed * 1000:.0f} ms")

    _warm(b, ["fugong"])
    assert httpx.post(f"{a}/admin/v1/topics/fugong/offline", headers=editor).status_code == 200
    elapsed, answer = _poll(b, lambda a: a[0] == [], limit=PROPAGATION_LIMIT)
    assert answer[0] == [] and elapsed <= PROPAGATION_LIMIT, f"B still showed {answer} after {elapsed:.3f} s"
    print(f"switched off: B followed within {elapsed * 1000:.0f} ms")
