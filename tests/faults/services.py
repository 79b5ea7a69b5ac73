"""Servers of the fault tests' own, to stop and restart at will: a PostgreSQL on 5440 and a Redis
on 6390, never the shared 5432 and 6379 (other tests and people use those).

PostgreSQL refuses to run as root: when the tests run as root, its cluster is made in a folder the
``postgres`` user owns and every ``pg_ctl`` runs as that user."""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 5440
REDIS_PORT = 6390


def postgres_available() -> bool:
    return (PG_BIN / "pg_ctl").exists() and (os.geteuid() != 0 or shutil.which("runuser") is not None)


def redis_available() -> bool:
    return shutil.which("redis-server") is not None and shutil.which("redis-cli") is not None


def _as_postgres(*args: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def _wait(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


class PrivatePostgres:
    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.data = folder / "data"
        self.url = f"postgres://postgres@127.0.0.1:{port}/postgres"

    def init(self) -> None:
        subprocess.run(_as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
                                    "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"),
                       check=True, capture_output=True)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                                    "-o", options, "-w", "start"), check=True, capture_output=True)
        _wait(self.ready, "PostgreSQL accepting connections")

    def stop(self, mode: str = "immediate") -> None:
        """``immediate``: as a crash does it (no shutdown checkpoint; recovery on the next start)."""
        subprocess.run(_as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"),
                       check=False, capture_output=True)

    def ready(self) -> bool:
        done = subprocess.run([str(PG_BIN / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port), "-q"], check=False)
        return done.returncode == 0


@contextlib.contextmanager
def private_postgres(port: int = PG_PORT) -> Iterator[PrivatePostgres]:
    with tempfile.TemporaryDirectory(prefix="govhub-faults-pg-") as folder:
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        server = PrivatePostgres(Path(folder), port)
        server.init()
        server.start()
        try:
            yield server
        finally:
            server.stop("fast")


class PrivateRedis:
    def __init__(self, folder: str, port: int) -> None:
        self.folder, self.port = folder, port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "", "--appendonly", "no",
             "--dir", self.folder], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(self.ready, "Redis answering PING", timeout=10)

    def stop(self) -> None:
        """SIGKILL: Redis gone at once, its memory with it (it comes back empty)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def ready(self) -> bool:
        done = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], check=False, capture_output=True)
        return done.stdout.strip() == b"PONG"


@contextlib.contextmanager
def private_redis(port: int = REDIS_PORT) -> Iterator[PrivateRedis]:
    with tempfile.TemporaryDirectory(prefix="govhub-faults-redis-") as folder:
        server = PrivateRedis(folder, port)
        server.start()
        try:
            yield server
        finally:
            server.stop()
