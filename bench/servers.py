"""Real server processes for the benchmarks: the hub (``govhub serve``) and a bare-Sanic baseline,
each a single Sanic process with one worker, plus what the benchmarks read about them."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
DEFAULT_DATABASE = "postgres://postgres@127.0.0.1:5432/govhub_bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database the URL names if it does not exist yet."""
    import asyncio

    import asyncpg

    base, name = url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)

    async def create() -> None:
        conn = await asyncpg.connect(base + "/postgres")
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())


def recreate_database(url: str) -> None:
    """Drop and create the PostgreSQL database of ``url`` (a benchmark that starts from nothing)."""
    import asyncpg

    base, name = url.replace("postgres://", "postgresql://", 1).rsplit("/", 1)

    async def recreate() -> None:
        conn = await asyncpg.connect(base + "/postgres")
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(recreate())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_env(database_url: str, redis_url: str, port: int | None = None) -> dict[str, str]:
    env = {**os.environ, "GOVHUB_ENV": "dev", "GOVHUB_DATABASE_URL": database_url, "GOVHUB_REDIS_URL": redis_url,
           "GOVHUB_SCHEDULER_ENABLED": "false", "GOVHUB_LOG_LEVEL": "WARNING", "GOVHUB_WORKERS": "1"}
    if port:
        env["GOVHUB_PORT"] = str(port)
    return env


@contextlib.contextmanager
def serving(command: list[str], env: dict[str, str], health_url: str) -> Iterator[subprocess.Popen]:
    with tempfile.TemporaryFile("w+") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait(process, health_url, log)
            yield process
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()


def _wait(process: subprocess.Popen, url: str, log) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"{process.args} exited with {process.returncode}:\n{log.read()[-4000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{process.args} did not answer {url} within 60 s")


@contextlib.contextmanager
def hub(database_url: str, redis_url: str) -> Iterator[tuple[str, subprocess.Popen]]:
    port = free_port()
    with serving([sys.executable, "-m", "bff.cli", "serve"], hub_env(database_url, redis_url, port),
                 f"http://127.0.0.1:{port}/healthz") as process:
        yield f"http://127.0.0.1:{port}", process


@contextlib.contextmanager
def bare_sanic(insert_into: str | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    """The bare-Sanic baseline; ``insert_into`` (a database URL) adds its one-insert write route."""
    port = free_port()
    extra = ["--insert", insert_into] if insert_into else []
    with serving([sys.executable, "-m", "bench.bare_sanic", str(port), *extra], dict(os.environ),
                 f"http://127.0.0.1:{port}/") as process:
        yield f"http://127.0.0.1:{port}", process


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process and its children (Sanic's workers), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended while we looked
            continue
        if stat.parent.name == str(pid) or int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def machine() -> dict:
    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform(),
            "when": time.strftime("%Y-%m-%d %H:%M:%S %Z")}


def write_results(name: str, payload: dict) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": machine(), **payload}, ensure_ascii=False, indent=2) + "\n")
    return path


def percentile(sorted_values: list[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), round(share * len(sorted_values) + 0.5)))
    return sorted_values[rank - 1]


def table(header: list[str], rows: list[list]) -> str:
    cells = [header] + [[f"{c:,.1f}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])
