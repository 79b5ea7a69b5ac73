"""A hub world for the fault tests, every part a real process: a migrated and seeded database,
``govhub serve`` processes (started and killed at will, on the same database and Redis), the mock
WeChat, the department stub playing zj-platform, and citizens logged in with real names."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from bench.submit_bench import identities, verified_tokens
from tests.support.department_stub import NODE, Stub
from tests.support.live_hub import govhub_cli
from tests.support.mock_server import REPO_ROOT, free_port, wait_until_up


@dataclass
class Hub:
    url: str
    process: subprocess.Popen
    log: object

    def kill(self) -> None:
        """kill -9 of the instance: its main process and its Sanic worker, as when a host dies (the
        worker is a child process: killing the main process alone leaves it serving, orphaned)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read()


@dataclass
class World:
    database_url: str
    redis_url: str
    mock_url: str
    stub: Stub
    folder: Path
    tokens: list[str] = field(default_factory=list)
    postgres: object = None  # the servers the tests stop and start (tests/faults/services.py)
    redis: object = None

    def env(self, port: int, **extra: str) -> dict[str, str]:
        host, mock_port = self.mock_url.removeprefix("http://").split(":")
        return {**os.environ, "GOVHUB_ENV": "test", "GOVHUB_PORT": str(port), "GOVHUB_DATABASE_URL": self.database_url,
                "GOVHUB_REDIS_URL": self.redis_url, "GOVHUB_MOCK_HOST": host, "GOVHUB_MOCK_PORT": mock_port,
                "GOVHUB_LOG_LEVEL": "WARNING", "SANIC_PROXIES_COUNT": "1",  # each citizen logs in from an address
                "GOVHUB_PUBLIC_URL": "http://hub.faults.test",  # one issuer: a token of one instance works on all
                "GOVHUB_STUB_REGISTER_FILE": str(self.folder / "register.csv"),
                # the real scheduler and relay, ticking each second
                "GOVHUB_SCHEDULER_ENABLED": "true", "GOVHUB_RELAY_INTERVAL_SECONDS": "1", **extra}

    @contextlib.contextmanager
    def hub(self, port: int | None = None, **extra: str) -> Iterator[Hub]:
        port = port or free_port()
        with tempfile.TemporaryFile("w+") as log:
            process = subprocess.Popen([sys.executable, "-m", "bff.cli", "serve"], cwd=REPO_ROOT,
                                       env=self.env(port, **extra), stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)  # a process group: the instance
            hub = Hub(f"http://127.0.0.1:{port}", process, log)
            try:
                wait_until_up(process, hub.url, log, path="/healthz", timeout=90)
                yield hub
            finally:
                if process.poll() is None:
                    process.terminate()
                    try:
                        process.wait(timeout=15)
                    except subprocess.TimeoutExpired:
                        pass
                with contextlib.suppress(ProcessLookupError):  # whatever of the group is left
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()

    def log_in(self, hub_url: str, citizens: int) -> list[str]:
        people = identities(citizens)
        self.tokens = asyncio.run(verified_tokens(hub_url, self.mock_url, people))
        return self.tokens


@contextlib.contextmanager
def hub_world(*, database_url: str, redis_url: str, mock_url: str, stub: Stub, citizens: int) -> Iterator[World]:
    """``database_url``: a fresh, migrated database (tests/support/live_hub.fresh_database)."""
    with tempfile.TemporaryDirectory(prefix="govhub-faults-") as folder:
        world = World(database_url, redis_url, mock_url, stub, Path(folder))
        (world.folder / "register.csv").write_text(
            "".join(f"{number},{name}\n" for number, name in identities(citizens)), encoding="utf-8")
        env = {**world.env(0), "GOVHUB_SCHEDULER_ENABLED": "false"}
        govhub_cli(env, "seed")
        govhub_cli(env, "nodes", "set-endpoint", NODE, stub.endpoint(NODE))
        yield world


@dataclass(frozen=True)
class Audit:
    numbers: list[str]  # every application number stored
    keys: dict[str, str]  # Idempotency-Key -> the number it stored
    deliveries: dict[str, tuple[int, str]]  # number -> (id, status) of its node.application.submitted


async def audit(database_url: str) -> Audit:
    """What the database holds, to set against what the clients were told."""
    conn = await asyncpg.connect(database_url.replace("postgres://", "postgresql://", 1))
    try:
        numbers = [row["number"] for row in await conn.fetch("SELECT number FROM applications")]
        keys = {row["key"]: row["result"] for row in await conn.fetch(
            "SELECT key, result FROM idempotency_keys WHERE scope = 'applications'")}
        deliveries = {row["dedupe_key"].split(":")[1]: (row["id"], row["status"]) for row in await conn.fetch(
            "SELECT id, dedupe_key, status FROM deliveries WHERE kind = 'node.application.submitted'")}
        return Audit(numbers, keys, deliveries)
    finally:
        await conn.close()
