"""What the stub department remembers, in one small SQLite database (``:memory:`` or a file, so a
stub restarted on the same file still knows what it processed — that is what dedupe means).

- ``received``: one row per (node, delivery id), with how many times it arrived and whether it
  was processed (always exactly once: the dedupe this contract rests on).
- ``callbacks``: the events the review script owes the hub, each sent in order per application
  and retried until the hub answers.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from domain.shared.clock import Clock

SCHEMA = """
CREATE TABLE IF NOT EXISTS received (
    node TEXT NOT NULL, delivery_id TEXT NOT NULL, kind TEXT NOT NULL, number TEXT,
    payload TEXT NOT NULL, arrivals INTEGER NOT NULL, processed INTEGER NOT NULL,
    first_at REAL NOT NULL, last_at REAL NOT NULL, PRIMARY KEY (node, delivery_id));
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, node TEXT NOT NULL, number TEXT NOT NULL,
    event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, reason TEXT, due_at REAL NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER, last_error TEXT, answer TEXT, sent_at REAL);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (state, due_at);
"""


class StubStore:
    def __init__(self, path: str, clock: Clock) -> None:
        self._clock = clock
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)

    def reset(self) -> None:
        self._db.executescript("DELETE FROM received; DELETE FROM callbacks;")

    # --- deliveries ----------------------------------------------------------------------

    def receive(self, *, node: str, delivery_id: str, kind: str, payload: dict[str, Any]) -> bool:
        """Count an arrival. True the first time this delivery arrives (process it), False after."""
        now = self._clock.timestamp()
        number = payload.get("number") if isinstance(payload, dict) else None
        inserted = self._db.execute(
            "INSERT INTO received (node, delivery_id, kind, number, payload, arrivals, processed, first_at, last_at)"
            " VALUES (?, ?, ?, ?, ?, 1, 1, ?, ?) ON CONFLICT (node, delivery_id) DO NOTHING",
            (node, delivery_id, kind, number, json.dumps(payload, ensure_ascii=False), now, now)).rowcount
        if not inserted:
            self._db.execute("UPDATE received SET arrivals = arrivals + 1, last_at = ? WHERE node = ? AND delivery_id = ?",
                             (now, node, delivery_id))
        return bool(inserted)

    def deliveries(self, node: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT node, delivery_id, kind, number, arrivals, processed, first_at, last_at FROM received"
        rows = self._db.execute(sql + (" WHERE node = ?" if node else "") + " ORDER BY first_at",
                                (node,) if node else ()).fetchall()
        return [dict(row) for row in rows]

    def delivery(self, node: str, delivery_id: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM received WHERE node = ? AND delivery_id = ?", (node, delivery_id)).fetchone()
        if row is None:
            return None
        found = dict(row)
        found["payload"] = json.loads(found["payload"])
        return found

    # --- callbacks -----------------------------------------------------------------------

    def schedule(self, *, node: str, number: str, events: list[tuple[str, str, str | None]], delay: float) -> None:
        """Queue ``events`` (event id, type, reason) for ``number``, ``delay`` seconds apart,
        after whatever is already queued for that application."""
        last = self._db.execute("SELECT MAX(due_at) FROM callbacks WHERE node = ? AND number = ? AND state = 'pending'",
                                (node, number)).fetchone()[0]
        due = max(self._clock.timestamp(), last or 0)
        for event_id, kind, reason in events:
            due += delay
            self._db.execute("INSERT INTO callbacks (node, number, event_id, type, reason, due_at) VALUES (?, ?, ?, ?, ?, ?)"
                             " ON CONFLICT (event_id) DO NOTHING", (node, number, event_id, kind, reason, due))

    def cancel(self, *, node: str, number: str) -> int:
        return self._db.execute("UPDATE callbacks SET state = 'cancelled' WHERE node = ? AND number = ? AND state = 'pending'",
                                (node, number)).rowcount

    def due_callbacks(self, limit: int = 50) -> list[dict[str, Any]]:
        """Due callbacks, at most one per application: the earliest still pending (order kept)."""
        rows = self._db.execute(
            "SELECT * FROM callbacks c WHERE state = 'pending' AND due_at <= ? AND NOT EXISTS ("
            " SELECT 1 FROM callbacks e WHERE e.node = c.node AND e.number = c.number AND e.state = 'pending'"
            " AND e.id < c.id) ORDER BY due_at LIMIT ?", (self._clock.timestamp(), limit)).fetchall()
        return [dict(row) for row in rows]

    def callback_sent(self, callback_id: int, *, status: int, answer: str) -> None:
        self._db.execute("UPDATE callbacks SET state = 'sent', attempts = attempts + 1, last_status = ?, answer = ?,"
                         " sent_at = ? WHERE id = ?", (status, answer[:2000], self._clock.timestamp(), callback_id))

    def callback_refused(self, callback_id: int, *, status: int, answer: str) -> None:
        self._db.execute("UPDATE callbacks SET state = 'refused', attempts = attempts + 1, last_status = ?,"
                         " answer = ? WHERE id = ?", (status, answer[:2000], callback_id))

    def callback_failed(self, callback_id: int, *, error: str, status: int | None, retry_in: float) -> None:
        """Not delivered this time (hub unreachable, 5xx, 429): try again in ``retry_in`` s, and
        push the application's later events back by as much so they stay in order."""
        row = self._db.execute("SELECT node, number, due_at FROM callbacks WHERE id = ?", (callback_id,)).fetchone()
        self._db.execute("UPDATE callbacks SET attempts = attempts + 1, last_error = ?, last_status = ?,"
                         " due_at = ? WHERE id = ?", (error[:500], status, self._clock.timestamp() + retry_in, callback_id))
        self._db.execute("UPDATE callbacks SET due_at = due_at + ? WHERE node = ? AND number = ? AND state = 'pending'"
                         " AND id > ?", (retry_in, row["node"], row["number"], callback_id))

    def callbacks(self, number: str | None = None) -> list[dict[str, Any]]:
        sql = ("SELECT id, node, number, event_id, type, reason, state, attempts, last_status, last_error, answer"
               " FROM callbacks")
        rows = self._db.execute(sql + (" WHERE number = ?" if number else "") + " ORDER BY id",
                                (number,) if number else ()).fetchall()
        return [dict(row) for row in rows]
