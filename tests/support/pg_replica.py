"""A PostgreSQL primary and its streaming replica of our own, for the read-replica tests.

Never the shared cluster on 127.0.0.1:5432: this makes a primary on 5433 (``initdb`` in a temp
directory owned by the ``postgres`` user — PostgreSQL refuses to run as root, and we run as root),
a replica on 5434 (``pg_basebackup -R``: a copy of the primary plus ``standby.signal`` and its
``primary_conninfo``), starts both and waits until the replica streams. The replica can be stopped
and started again on demand (the fallback tests) and replay can be paused (a row then exists on
the primary only: how a test sees which server answered). Everything goes away on ``close``.

Durability is switched off (``fsync``, ``synchronous_commit``): these servers hold test data for
seconds, and a start takes about two seconds instead of five.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Self

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PRIMARY_PORT, REPLICA_PORT = 5433, 5434
PREFIX = "govhub-pg-replica-"
SETTINGS = """
listen_addresses = '127.0.0.1'
port = {port}
unix_socket_directories = '{sockets}'
max_connections = 60
shared_buffers = 16MB
fsync = off
synchronous_commit = off
full_page_writes = off
wal_level = replica
max_wal_senders = 4
wal_keep_size = 64MB
hot_standby = on
logging_collector = off
"""
HBA = """
local all all trust
host all all 127.0.0.1/32 trust
host replication all 127.0.0.1/32 trust
"""


def unavailable() -> str | None:
    """Why this machine cannot run the pair, or None when it can."""
    if not (PG_BIN / "initdb").exists() or not (PG_BIN / "pg_basebackup").exists():
        return f"PostgreSQL 15 binaries not found in {PG_BIN}"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "needs root and runuser to run PostgreSQL as the postgres user"
    for port in (PRIMARY_PORT, REPLICA_PORT):
        if _listening(port) and not _stale_of_ours():
            return f"port {port} is taken by a server that is not one of ours"
    return None


class ReplicaPair:
    """``with ReplicaPair() as pair:`` a streaming primary/replica; ``pair.url("primary", "db")``."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix=PREFIX))
        self.primary_dir, self.replica_dir = self.root / "primary", self.root / "replica"

    # --- life ----------------------------------------------------------------------------------

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        _stop_stale_pairs()
        shutil.chown(self.root, "postgres", "postgres")
        _as_postgres("initdb", "-D", self.primary_dir, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                     "--locale=C", "--no-sync")
        with open(self.primary_dir / "postgresql.conf", "a") as conf:
            conf.write(SETTINGS.format(port=PRIMARY_PORT, sockets=self.root))
        (self.primary_dir / "pg_hba.conf").write_text(HBA)
        self._ctl(self.primary_dir, "start")
        _as_postgres("pg_basebackup", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres",
                     "-D", self.replica_dir, "-R", "-X", "stream", "-c", "fast", "--no-sync")
        with open(self.replica_dir / "postgresql.conf", "a") as conf:
            conf.write(f"port = {REPLICA_PORT}\n")
        self.start_replica()

    def close(self) -> None:
        for data in (self.replica_dir, self.primary_dir):
            if (data / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.SubprocessError, RuntimeError):
                    self._ctl(data, "stop", "-m", "immediate")
        _stop_stale_pairs()  # whatever pg_ctl could not stop
        shutil.rmtree(self.root, ignore_errors=True)

    def stop_replica(self) -> None:
        """Fast shutdown: the replica's sessions are cut, as when its host goes away."""
        self._ctl(self.replica_dir, "stop", "-m", "fast")

    def start_replica(self) -> None:
        self._ctl(self.replica_dir, "start")
        self.wait_streaming()

    def wait_streaming(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql("replica", "SELECT status FROM pg_stat_wal_receiver") == "streaming":
                return
            time.sleep(0.05)
        raise TimeoutError("the replica did not start streaming")

    # --- using it ------------------------------------------------------------------------------

    @staticmethod
    def url(server: str, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{_port(server)}/{database}"

    def sql(self, server: str, query: str, database: str = "postgres") -> str:
        """One statement through psql; its output unaligned (``a|b`` per row)."""
        done = subprocess.run([str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(_port(server)), "-U", "postgres",
                               "-d", database, "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", query],
                              check=False, capture_output=True, text=True, timeout=30)
        if done.returncode:
            raise RuntimeError(f"psql on {server}: {done.stderr.strip()}")
        return done.stdout.strip()

    def pause_replay(self) -> None:
        """The replica keeps receiving WAL but shows nothing new: a write lands on the primary only."""
        self.sql("replica", "SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        self.sql("replica", "SELECT pg_wal_replay_resume()")

    def wait_replayed(self, timeout: float = 10.0) -> None:
        """Until the replica has replayed everything the primary has written so far."""
        target = self.sql("primary", "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql("replica", f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn") == "t":
                return
            time.sleep(0.05)
        raise TimeoutError("the replica did not catch up")

    def _ctl(self, data: Path, action: str, *options: str) -> None:
        _as_postgres("pg_ctl", "-D", data, "-l", data.parent / f"{data.name}.log", "-w", "-t", "30",
                     action, *options)


def _port(server: str) -> int:
    return {"primary": PRIMARY_PORT, "replica": REPLICA_PORT}[server]


def _as_postgres(binary: str, *args) -> None:
    done = subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / binary), *map(str, args)],
                          check=False, capture_output=True, text=True, timeout=60)
    if done.returncode:
        raise RuntimeError(f"{binary} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _stale_of_ours() -> list[int]:
    """Postmasters a killed test run left behind: ours by their data directory's prefix (even when
    the directory itself is gone), never the shared cluster's."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        with contextlib.suppress(OSError):
            args = cmdline.read_bytes().split(b"\0")
            if args[0] == bytes(PG_BIN / "postgres") and b"-D" in args and \
                    args[args.index(b"-D") + 1].startswith(f"{tempfile.gettempdir()}/{PREFIX}".encode()):
                found.append(int(cmdline.parent.name))
    return found


def _stop_stale_pairs() -> None:
    for pid in _stale_of_ours():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGQUIT)  # a postmaster's immediate shutdown
    deadline = time.monotonic() + 10
    while (_listening(PRIMARY_PORT) or _listening(REPLICA_PORT)) and time.monotonic() < deadline:
        time.sleep(0.05)


@contextlib.contextmanager
def replica_pair() -> Iterator[ReplicaPair]:
    with ReplicaPair() as pair:
        yield pair
