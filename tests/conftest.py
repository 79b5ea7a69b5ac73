"""Test harness: one migrated database and one Redis per session, emptied before every test.

Runs on the embedded default (SQLite file + fakeredis). With GOVHUB_DATABASE_URL (PostgreSQL) and
GOVHUB_REDIS_URL set, the same tests run on the real services: a fresh database is created for the
session and dropped after it.
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import uuid

import asyncpg
import httpx
import pytest
from tortoise import Tortoise

from bff import database
from bff.settings import Settings
from domain.shared.clock import FrozenClock
from tests.support import workers  # noqa: F401  (this worker's Redis databases, before anything reads them)
from tests.support.clock import OFFSET, suite_clock  # sets GOVHUB_CLOCK_OFFSET for every process

pytest_plugins = ["tests.support.fixtures"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that talked to a live hub gets the errors the hub logged in its report: a
    journey's 500 says nothing of its cause (two were seen once each and never explained)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        from tests.support.live_hub import errors_logged

        logged = errors_logged()
        if logged:
            report.sections.append(("errors the live hub logged", logged))


def _is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "asyncpg://"))


async def _admin_execute(url: str, sql: str) -> None:
    import asyncpg

    base = url.rsplit("/", 1)[0] + "/postgres"
    conn = await asyncpg.connect(base.replace("asyncpg://", "postgresql://").replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """A fresh, migrated database for this session."""
    given = os.environ.get("GOVHUB_DATABASE_URL", "")
    if _is_postgres(given):
        name = f"govhub_test_{uuid.uuid4().hex[:10]}"
        url = given.rsplit("/", 1)[0] + "/" + name
        asyncio.run(_admin_execute(given, f'CREATE DATABASE "{name}"'))
        database.migrate(url)
        yield url
        asyncio.run(_admin_execute(given, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        url = f"sqlite://{tmp_path_factory.mktemp('db') / 'govhub.sqlite3'}"
        database.migrate(url)
        yield url


@pytest.fixture(scope="session", name="suite_clock")
def suite_clock_fixture():
    """The time every process of this run agrees on (tests/support/clock.py): read it, never the wall."""
    return suite_clock


@pytest.fixture
def clock(request) -> FrozenClock:
    """A clock that moves only when the test advances it: at the suite's now, or at the moment a
    module names with ``pytestmark = pytest.mark.frozen_at(datetime(...))`` (a Friday, a deadline)."""
    marker = request.node.get_closest_marker("frozen_at")
    return FrozenClock(marker.args[0] if marker else suite_clock.now())


@pytest.fixture(scope="session")
def live_hub(database_url, redis_url, mock_url):
    """A seeded hub in its own process (``govhub seed`` + ``govhub serve``), shared by the journeys and
    the browser tests: seeding and starting it cost more than most of them. Session-scoped, not
    package-scoped: the suite's workers interleave modules, and a package fixture would be torn down
    and seeded again each time a worker came back. Each test brings its own department stub."""
    from tests.support.live_hub import seeded_hub

    with seeded_hub(database_url=database_url, redis_url=redis_url, mock_url=mock_url) as hub:
        yield hub


@pytest.fixture(scope="session")
def redis_url() -> str:
    return os.environ.get("GOVHUB_REDIS_URL", "")


@pytest.fixture(scope="session")
def settings(database_url, redis_url, mock_url, tmp_path_factory) -> Settings:
    host, port = mock_url.removeprefix("http://").split(":")
    return Settings(env="test", database_url=database_url, redis_url=redis_url, mock_host=host,
                    mock_port=int(port), scheduler_enabled=False, seed_demo=False, log_level="WARNING",
                    storage_dir=str(tmp_path_factory.mktemp("materials")), clock_offset=OFFSET)


@pytest.fixture(scope="session")
async def resources(settings):
    from bff.container import build_hub, close_hub

    built = await build_hub(settings)
    yield built
    await close_hub(built)


async def _empty_database() -> None:
    conn = Tortoise.get_connection("default")
    # signing keys stay: the token service holds its key ring for the whole session
    tables = [m._meta.db_table for app in Tortoise.apps.values() for m in app.values()
              if m._meta.db_table != "signing_keys"] + ["matter_search"]  # the one table no model declares
    if conn.capabilities.dialect == "postgres":
        await _truncate(conn, tables)
    else:
        await conn.execute_script("PRAGMA foreign_keys=OFF;" + "".join(f'DELETE FROM "{t}";' for t in tables)
                                  + "DELETE FROM sqlite_sequence; PRAGMA foreign_keys=ON;")


async def _truncate(conn, tables: list[str], tries: int = 5) -> None:
    """TRUNCATE locks table after table; work the previous test left running in this process (a
    home page refreshed in the background, a count of applications) reads them in another order,
    and PostgreSQL breaks the deadlock by aborting one side (seen in CI: the TRUNCATE). The reader
    then finishes, so the TRUNCATE is simply tried again."""
    for attempt in range(tries):
        try:
            await conn.execute_script(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
            return
        except asyncpg.exceptions.DeadlockDetectedError:
            if attempt == tries - 1:
                raise


@pytest.fixture(autouse=True)
async def clean_state(request):
    """Every test starts from empty tables and an empty Redis (only when it uses them)."""
    if "resources" in request.fixturenames:
        await empty_hub(request.getfixturevalue("resources"))
    yield


async def empty_hub(resources) -> None:
    """The hub as new: empty tables, an empty Redis, and nothing remembered in the process."""
    await _empty_database()
    await resources.redis.aio.flushdb()
    resources.forget_memos()  # what it remembers would outlive the emptied tables


@contextlib.asynccontextmanager
async def serving(app):
    """``app`` started and stopped as an ASGI server does it, through the lifespan protocol: its
    start and stop listeners run as they do in production."""
    to_app: asyncio.Queue = asyncio.Queue()
    from_app: asyncio.Queue = asyncio.Queue()
    lifespan = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put))
    await to_app.put({"type": "lifespan.startup"})
    started = await from_app.get()
    assert started["type"] == "lifespan.startup.complete", started
    try:
        yield app
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        stopped = await from_app.get()
        await lifespan
        assert stopped["type"] == "lifespan.shutdown.complete", stopped


@pytest.fixture(scope="session")
async def app(settings, resources):
    from bff.app import create_app

    async with serving(create_app(settings, hub=resources, name="govhub_test")) as hub:
        yield hub


@pytest.fixture
async def client(app, resources):
    """An HTTP client that calls the hub in-process through ASGI (no socket)."""
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield http
