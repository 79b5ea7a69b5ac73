"""The verifier's memory of presentation ids it accepted: a token is accepted once.

``FileReplay`` keeps it in the cache directory (SQLite, from the standard library), so it outlives
the process and holds for every verifier process sharing the directory: the insert that claims an
id is one statement, and SQLite serialises writers across processes (a second one waits on the
lock, up to ``timeout``). An id is kept until its token expires, then dropped: a replay after that
is refused as expired anyway, so memory stays bounded by the tokens of the last few minutes.

``MemoryReplay`` is the same in one process (a verifier built without a cache directory).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

SCHEMA = "CREATE TABLE IF NOT EXISTS accepted (pid TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)"


class MemoryReplay:
    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def first_time(self, pid: str, *, expires_at: int, now: int) -> bool:
        """Record ``pid`` as accepted; False when it was accepted before (a replay)."""
        self._seen = {p: until for p, until in self._seen.items() if until > now}
        if pid in self._seen:
            return False
        self._seen[pid] = expires_at
        return True


class FileReplay:
    def __init__(self, path: Path, *, timeout: float = 10.0) -> None:
        self.path, self._timeout = Path(path), timeout
        with self._connect() as conn:
            conn.execute(SCHEMA)

    def first_time(self, pid: str, *, expires_at: int, now: int) -> bool:
        """Record ``pid`` as accepted; False when this or another process accepted it before."""
        with self._connect() as conn:  # one transaction: the purge and the claim
            conn.execute("DELETE FROM accepted WHERE expires_at <= ?", (now,))
            claimed = conn.execute("INSERT OR IGNORE INTO accepted (pid, expires_at) VALUES (?, ?)",
                                   (pid, expires_at)).rowcount
        return claimed == 1

    def held(self) -> int:
        with self._connect() as conn:
            return conn.execute("SELECT COUNT(*) FROM accepted").fetchone()[0]

    def _connect(self) -> _Closing:
        conn = sqlite3.connect(self.path, timeout=self._timeout, isolation_level="IMMEDIATE")
        return _Closing(conn)


class _Closing:
    """``with`` a connection: commit (or roll back) and close — sqlite3's own ``with`` only commits."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> sqlite3.Connection:
        return self._conn.__enter__()

    def __exit__(self, *exc) -> None:
        try:
            self._conn.__exit__(*exc)
        finally:
            self._conn.close()
