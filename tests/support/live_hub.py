"""Run the hub as a real HTTP server in a subprocess (``govhub serve``), for journey tests."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from bff import database
from tests.support.clock import suite_clock
from tests.support.department_stub import running_stub
from tests.support.mock_server import free_port, wait_until_up

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def fresh_database(base_url: str) -> Iterator[str]:
    """A new migrated database next to ``base_url`` (PostgreSQL) or a temp SQLite file."""
    if base_url.startswith(("postgres://", "postgresql://")):
        from tests.conftest import _admin_execute

        name = f"govhub_live_{uuid.uuid4().hex[:8]}"
        url = base_url.rsplit("/", 1)[0] + "/" + name
        asyncio.run(_admin_execute(base_url, f'CREATE DATABASE "{name}"'))
        try:
            database.migrate(url)
            yield url
        finally:
            asyncio.run(_admin_execute(base_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    else:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite://{Path(folder) / 'live.sqlite3'}"
            database.migrate(url)
            yield url


@contextlib.contextmanager
def running_hub(*, database_url: str, redis_url: str, mock_url: str, extra_env: dict | None = None) -> Iterator[str]:
    port = free_port()
    host, mock_port = mock_url.removeprefix("http://").split(":")
    env = {**os.environ, "GOVHUB_ENV": "test", "GOVHUB_PORT": str(port), "GOVHUB_DATABASE_URL": database_url,
           "GOVHUB_REDIS_URL": redis_url, "GOVHUB_MOCK_HOST": host, "GOVHUB_MOCK_PORT": mock_port,
           "GOVHUB_SCHEDULER_ENABLED": "false", "GOVHUB_LOG_LEVEL": "WARNING",
           # the real scheduler, ticking each second: journeys wait for the relay, not for its interval
           "GOVHUB_RELAY_INTERVAL_SECONDS": "1", "GOVHUB_BUNDLE_INTERVAL_SECONDS": "1", **(extra_env or {})}
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen([sys.executable, "-m", "bff.cli", "serve"], cwd=REPO_ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        RUNNING_LOGS.append(log)
        try:
            # a loaded CI box starts Sanic's worker process slowly
            wait_until_up(process, url, log, path="/healthz", timeout=90)
            yield url
        finally:
            RUNNING_LOGS.remove(log)
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


RUNNING_LOGS: list = []  # the output files of the live hubs running in this process


def errors_logged(limit: int = 6000) -> str:
    """What the running live hubs logged at ERROR or worse (tracebacks included), for a failed test's
    report: a journey's 500 says nothing of its cause, the hub's log does (tests/conftest.py)."""
    found = []
    for log in RUNNING_LOGS:
        log.flush()
        log.seek(0)
        text = log.read()
        log.seek(0, os.SEEK_END)
        start = min((i for i in (text.find('"level": "ERROR"'), text.find("Traceback")) if i >= 0), default=-1)
        if start >= 0:
            found.append(text[text.rfind("\n", 0, start) + 1:][-limit:])  # from the start of its line
    return "\n".join(found)


def tried_and_pending(database_url: str, target: str) -> int:
    """Deliveries to ``target`` that the hub at ``database_url`` has tried and not yet delivered:
    what a journey waits for instead of sleeping through the relay's interval."""
    sql = "SELECT count(*) FROM deliveries WHERE target = {} AND status = 'pending' AND attempts > 0"
    if database_url.startswith(("postgres://", "postgresql://")):
        return asyncio.run(_postgres_count(database_url, sql.format("$1"), target))
    with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as db:
        return db.execute(sql.format("?"), (target,)).fetchone()[0]


async def _postgres_count(url: str, sql: str, *args) -> int:
    return await _postgres_value(url, sql, *args)


def govhub_cli(env: dict, *args: str) -> str:
    """Run a ``govhub`` command in the repository; its output, after asserting it succeeded."""
    done = subprocess.run([sys.executable, "-m", "bff.cli", *args], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@dataclass(frozen=True)
class LiveHub:
    url: str
    database_url: str
    env: dict  # for ``govhub`` commands on its database


@contextlib.contextmanager
def seeded_hub(*, database_url: str, redis_url: str, mock_url: str) -> Iterator[LiveHub]:
    """Every part a real process: a fresh database seeded by ``govhub seed`` and ``govhub serve``
    with its scheduler (the outbox relay, the bundle job)."""
    with fresh_database(os.environ.get("GOVHUB_DATABASE_URL", "") or database_url) as url:
        env = {**os.environ, "GOVHUB_DATABASE_URL": url, "GOVHUB_REDIS_URL": redis_url, "GOVHUB_LOG_LEVEL": "WARNING"}
        seeded = govhub_cli(env, "seed")
        for part in ("demo seals and licenses", "instant approval", "housing fund", "bundles:", "data sharing"):
            assert part in seeded, seeded
        # the message log's time-stamping authority: the department stub's /tsa, stamping each second
        with running_stub(review=False) as authority, \
                running_hub(database_url=url, redis_url=redis_url, mock_url=mock_url,
                            extra_env={"GOVHUB_SCHEDULER_ENABLED": "true", "GOVHUB_TSA_URL": f"{authority.url}/tsa",
                                       "GOVHUB_SHARING_STAMP_INTERVAL_SECONDS": "1"}) as hub:
            yield LiveHub(url=hub, database_url=url, env={**env, "GOVHUB_TSA_URL": f"{authority.url}/tsa"})


@contextlib.contextmanager
def serving_nodes(hub: LiveHub, stub, nodes: tuple[str, ...]):
    """A department stub (``stub(hub_url)``: a context manager) with ``nodes`` pointed at it."""
    with stub(hub.url) as running:
        for node in nodes:
            govhub_cli(hub.env, "nodes", "set-endpoint", node, running.endpoint(node))
        yield running


async def park_soon(database_url: str, *, kind: str, target: str, number: str) -> None:
    """A delivery of a kind no sender handles, due now, written into the hub's outbox: its relay tries
    it and parks it (no sender), as it parks anything it cannot hand over — the state operators resend."""
    now = suite_clock.now()
    row = (kind, target, json.dumps({"number": number}), f"{target}:{number}", "pending", 0, now, now, now)
    columns = "kind, target, payload, dedupe_key, status, attempts, next_attempt_at, created_at, updated_at"
    if database_url.startswith(("postgres://", "postgresql://")):
        await _postgres_execute(database_url, f"INSERT INTO deliveries ({columns}) VALUES "
                                              "($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9)", *row)
        return
    with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as db:
        db.execute(f"INSERT INTO deliveries ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   row[:6] + tuple(str(t) for t in row[6:]))
        db.commit()


async def delivery_status(database_url: str, dedupe_key: str) -> str | None:
    sql = "SELECT status FROM deliveries WHERE dedupe_key = {}"
    if database_url.startswith(("postgres://", "postgresql://")):
        return await _postgres_value(database_url, sql.format("$1"), dedupe_key)
    with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite://"))) as db:
        found = db.execute(sql.format("?"), (dedupe_key,)).fetchone()
        return found[0] if found else None


async def _postgres_execute(url: str, sql: str, *args) -> None:
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _postgres_value(url: str, sql: str, *args):
    conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()
