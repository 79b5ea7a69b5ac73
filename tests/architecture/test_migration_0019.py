"""Migration 0019 moves every Idempotency-Key (applications, fund withdrawals, bundles, consent
reports) into ``idempotency_keys``, so that a key sent again after the upgrade answers as before
(and back again on downgrade)."""
from __future__ import annotations

import sqlite3

from alembic import command

from bff import database
from domain.shared import idempotency


def _insert(conn: sqlite3.Connection, table: str, **given) -> None:
    """A row of ``table`` with ``given`` and a placeholder in every other required column."""
    values = dict(given)
    for _, name, kind, notnull, default, pk in conn.execute(f'PRAGMA table_info("{table}")'):
        if name not in values and notnull and default is None and not pk:
            values[name] = 0 if "INT" in kind.upper() or "BOOL" in kind.upper() else (
                "2026-12-01T00:00:00+00:00" if "TIME" in kind.upper() else ("{}" if "JSON" in kind.upper() else "x"))
    names = ", ".join(f'"{n}"' for n in values)
    conn.execute(f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in values)})', list(values.values()))


def test_keys_of_applications_withdrawals_and_bundles_move_to_one_table(tmp_path):
    url = f"sqlite://{tmp_path / 'm.sqlite3'}"
    database.migrate(url, "0018")
    conn = sqlite3.connect(database.sqlite_path(url))
    _insert(conn, "application_idempotency", person_id="p_1", key="k-a", operation="withdraw:A-1",
            request_hash="h-a", application_number="A-1")
    _insert(conn, "fund_withdrawals", public_id="w_1", person_id="p_1", submit_key="k-w", payout_id="po_1")
    _insert(conn, "fund_withdrawals", public_id="w_2", person_id="p_1", submit_key=None, payout_id="po_2")
    _insert(conn, "bundle_runs", number="B-1", person_id="p_2", idempotency_key="k-b", request_hash="h-b")
    _insert(conn, "notification_consent_reports", person_id="p_3", key="k-n", request_hash="h-n")
    conn.commit()
    conn.close()

    database.migrate(url)
    conn = sqlite3.connect(database.sqlite_path(url))
    moved = sorted(conn.execute("SELECT scope, person_id, key, operation, request_hash, result FROM idempotency_keys"))
    assert moved == [
        ("applications", "p_1", "k-a", "withdraw:A-1", "h-a", "A-1"),
        ("bundles", "p_2", "k-b", "submit", "h-b", "B-1"),
        # the request hash the service computes for a withdrawal's submission
        ("housing_fund", "p_1", "k-w", "submit", idempotency.fingerprint({"withdrawal_id": "w_1"}), "w_1"),
        ("notifications", "p_3", "k-n", "grant", "h-n", "counted"),
    ]
    conn.close()

    command.downgrade(database.alembic_config(url), "0018")
    conn = sqlite3.connect(database.sqlite_path(url))
    assert list(conn.execute("SELECT key, application_number FROM application_idempotency")) == [("k-a", "A-1")]
    assert sorted(conn.execute("SELECT public_id, submit_key FROM fund_withdrawals")) == [("w_1", "k-w"), ("w_2", None)]
    assert list(conn.execute("SELECT number, idempotency_key, request_hash FROM bundle_runs")) == [("B-1", "k-b", "h-b")]
    assert list(conn.execute("SELECT person_id, key, request_hash FROM notification_consent_reports")) == [
        ("p_3", "k-n", "h-n")]
    conn.close()

