"""Public reads from a streaming replica, read-your-writes, and the replica's faults, over HTTP.

A real hub process (``govhub serve``) on a primary and its streaming replica of our own
(tests/support/pg_replica.py: ports 5433 and 5434, never the shared cluster). Which server answered
is seen in the data: with the replica's replay paused, a change made on the primary is visible
there only, so a search that still finds a matter the primary no longer indexes was answered by the
replica, and one that does not was answered by the primary.

Runs in the real-services phase of ``.ci/run`` (GOVHUB_DATABASE_URL names PostgreSQL): the replica
exists only for PostgreSQL, and `make test` stays embedded. It also needs the PostgreSQL 15
binaries and root with runuser (PostgreSQL runs as the postgres user); without them it skips and
says which is missing.
"""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest

from bff import database
from tests.support import pg_replica
from tests.support.catalog_data import sample_records
from tests.support.citizens import bearer, login_wechat
from tests.support.live_hub import REPO_ROOT, running_hub

MAX_LAG_MS = 5000  # the hub's GOVHUB_DATABASE_REPLICA_MAX_LAG_MS here: reads within it see a paused replica
NAME = "社会保障卡申领"  # one name, a matter per region (tests/support/catalog_data.py)


def _why_skip() -> str | None:
    if not os.environ.get("GOVHUB_DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return "read-replica tests run on PostgreSQL (the real-services phase: GOVHUB_DATABASE_URL=postgres://...)"
    return pg_replica.unavailable()


pytestmark = pytest.mark.skipif(_why_skip() is not None, reason=_why_skip() or "")


@pytest.fixture(scope="module")
def pair():
    with pg_replica.ReplicaPair() as pair:
        yield pair


@pytest.fixture(scope="module")
def hub(pair, redis_url, mock_url, tmp_path_factory):
    pair.sql("primary", "CREATE DATABASE govhub")
    primary, replica = pair.url("primary", "govhub"), pair.url("replica", "govhub")
    database.migrate(primary)
    _import_catalog(primary, redis_url, tmp_path_factory.mktemp("catalog") / "matters.jsonl")
    pair.wait_replayed()
    env = {"GOVHUB_DATABASE_REPLICA_URL": replica, "GOVHUB_DATABASE_REPLICA_MAX_LAG_MS": str(MAX_LAG_MS)}
    with running_hub(database_url=primary, redis_url=redis_url, mock_url=mock_url, extra_env=env) as url:
        _wait_replica_sessions(pair)
        yield url


@pytest.fixture
async def client(hub, pair):
    async with httpx.AsyncClient(base_url=hub, timeout=30) as http:
        yield http
    pair.resume_replay()
    pair.wait_replayed()


def _import_catalog(database_url: str, redis_url: str, path) -> None:
    """The catalog through the real upsert (``govhub catalog import``), its index included."""
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in sample_records()))
    env = {**os.environ, "GOVHUB_DATABASE_URL": database_url, "GOVHUB_REDIS_URL": redis_url,
           "GOVHUB_LOG_LEVEL": "WARNING"}
    subprocess.run([sys.executable, "-m", "bff.cli", "catalog", "import", str(path)], cwd=REPO_ROOT, env=env,
                   check=True, capture_output=True, timeout=120)


def _wait_replica_sessions(pair, timeout: float = 15.0) -> None:
    """Until the hub holds a session on the replica (its probe connects as soon as it can)."""
    query = f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{_app_name()}'"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if int(pair.sql("replica", query)) > 0:
            return
        time.sleep(0.1)
    raise TimeoutError("the hub did not connect to the replica")


def _app_name() -> str:
    from bff.read_replica import APPLICATION_NAME

    return APPLICATION_NAME


def _unindex_on_primary(pair, code: str) -> None:
    """The matter leaves the search index on the primary (with replay paused: only there)."""
    pair.sql("primary", f"DELETE FROM matter_search WHERE matter_id = (SELECT id FROM matters WHERE code = '{code}')",
             "govhub")


def _rename_on_primary(pair, code: str, name: str) -> None:
    pair.sql("primary", f"UPDATE matters SET name = '{name}' WHERE code = '{code}'", "govhub")


async def _found(client: httpx.AsyncClient, headers: dict | None = None) -> set[str]:
    response = await client.get("/wx/v1/matters", params={"q": NAME, "limit": 50}, headers=headers or {})
    assert response.status_code == 200, response.text
    return {item["code"] for item in response.json()["items"]}


def _code(region_index: int) -> str:
    """The code of NAME's matter in the catalog's region number ``region_index`` (offered on WeChat)."""
    record = next(r for r in sample_records() if r["name"] == NAME and r["region_code"] == _regions()[region_index])
    assert "wechat" in record["channels"], record["code"]
    return record["code"]


def _regions() -> list[str]:
    from tests.support.catalog_data import REGIONS

    return REGIONS


async def test_public_reads_are_answered_by_the_replica(client, pair):
    hidden, renamed = _code(0), _code(1)
    assert {hidden, renamed} <= await _found(client)
    pair.pause_replay()
    _unindex_on_primary(pair, hidden)
    _rename_on_primary(pair, renamed, "只在主库的新名称")

    # the raw-SQL search and the ORM's rows both came from the replica
    assert hidden in await _found(client)
    detail = await client.get(f"/wx/v1/matters/{renamed}")
    assert detail.status_code == 200 and detail.json()["name"] == NAME
    home = await client.get("/wx/v1/home")
    assert home.status_code == 200

    pair.resume_replay()
    pair.wait_replayed()
    await _until(lambda found: hidden not in found, client)  # and the replica follows the primary


async def test_a_citizen_who_just_wrote_reads_from_the_primary(client, pair, mock_url):
    alice = await login_wechat(client, mock_url, "alice")
    bob = await login_wechat(client, mock_url, "bob")
    url = "/wx/v1/me/notification-preferences"
    preferences = (await client.get(url, headers=bearer(alice))).json()
    hidden = _code(2)
    pair.pause_replay()  # from here on, the replica is usable for MAX_LAG_MS: a few requests
    _unindex_on_primary(pair, hidden)
    assert hidden in await _found(client, bearer(alice))  # no write of hers yet: the replica answers

    wrote = await client.put(url, headers=bearer(alice), json={"channels": preferences["channels"],
                                                               "sms_fallback": True})
    assert wrote.status_code == 200, wrote.text

    assert hidden not in await _found(client, bearer(alice))  # her reads now come from the primary
    assert hidden in await _found(client, bearer(bob))  # others still read the replica
    assert hidden in await _found(client)


async def test_a_replica_too_far_behind_is_left_for_the_primary(client, pair):
    hidden = _code(3)
    pair.pause_replay()
    _unindex_on_primary(pair, hidden)
    assert hidden in await _found(client)  # the replica answers while it is within the allowed lag
    started = time.monotonic()
    await _until(lambda found: hidden not in found, client, timeout=MAX_LAG_MS / 1000 + 10)
    print(f"\nreplica paused: public reads moved to the primary after {time.monotonic() - started:.1f} s "
          f"(max lag {MAX_LAG_MS / 1000:.0f} s)")


async def test_the_hub_answers_while_the_replica_is_down_and_uses_it_again_when_back(client, pair):
    pair.stop_replica()
    try:
        started = time.monotonic()
        first = await client.get("/wx/v1/matters", params={"q": NAME, "limit": 50})
        fallback = time.monotonic() - started
        assert first.status_code == 200, first.text
        for path in ("/wx/v1/home", "/public/v1/regions", f"/wx/v1/matters/{_code(6)}", "/alipay/v1/matters"):
            response = await client.get(path)
            assert response.status_code == 200, (path, response.text)
        assert _code(6) in await _found(client)
    finally:
        pair.start_replica()
    print(f"\nreplica stopped: first search answered by the primary in {fallback * 1000:.0f} ms")

    back = time.monotonic()
    deadline = back + 20
    while not await _answered_by_replica(client, pair, _code(5)):
        assert time.monotonic() < deadline, "the replica was not used again"
        await asyncio.sleep(0.2)
    print(f"replica restarted: in use again after {time.monotonic() - back:.1f} s")


async def _answered_by_replica(client: httpx.AsyncClient, pair, code: str) -> bool:
    """Renames the matter on the primary alone (replay paused) and asks for it: the old name comes
    from the replica. Leaves both servers as they were."""
    pair.pause_replay()
    try:
        _rename_on_primary(pair, code, "只在主库的新名称")
        response = await client.get(f"/wx/v1/matters/{code}")
        assert response.status_code == 200, response.text
        return response.json()["name"] == NAME
    finally:
        pair.resume_replay()
        _rename_on_primary(pair, code, NAME)
        pair.wait_replayed()


async def _until(done, client: httpx.AsyncClient, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        found = await _found(client)
        if done(found):
            return
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)
