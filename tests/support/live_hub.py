"""Run the hub as a real HTTP server in a subprocess (``govhub serve``), for journey tests."""
from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path


from bff import database
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
           "GOVHUB_SCHEDULER_ENABLED": "false", "GOVHUB_LOG_LEVEL": "WARNING", **(extra_env or {})}
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen([sys.executable, "-m", "bff.cli", "serve"], cwd=REPO_ROOT, env=env,
                                   stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            # a loaded CI box starts Sanic's worker process slowly
            wait_until_up(process, url, log, path="/healthz", timeout=90)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
