"""Run the hub as a real HTTP server in a subprocess (``govhub serve``), for journey tests."""
from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx

from bff import database
from tests.support.mock_server import free_port

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
            _wait(process, url, log)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait(process: subprocess.Popen, url: str, log) -> None:
    deadline = time.monotonic() + 90  # a loaded CI box starts Sanic's worker slowly
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the hub exited with {process.returncode}:\n{log.read()[-4000:]}")
        try:
            if httpx.get(f"{url}/healthz", timeout=0.5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError("the hub did not answer within 90 s")
