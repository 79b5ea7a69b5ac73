"""Migration 0016 fills in ``entry`` for what already exists: the fund centres' withdrawal matters
and the bundles' step matters, and the applications withdrawals and bundle steps submitted, so a
hub upgraded without a new seed refuses a fund matter on the plain route at once."""
from __future__ import annotations

import sqlite3

from bff import database


def _insert(db: sqlite3.Connection, table: str, **values) -> None:
    """A row with ``values`` and a placeholder in every other NOT NULL column without a default."""
    for _, name, declared, notnull, default, pk in db.execute(f'PRAGMA table_info("{table}")'):
        if notnull and default is None and not pk and name not in values:
            values[name] = 0 if "INT" in declared.upper() or "BOOL" in declared.upper() else "2026-11-27"
    columns = ", ".join(values)
    db.execute(f"INSERT INTO {table} ({columns}) VALUES ({', '.join('?' * len(values))})", list(values.values()))


def test_0016_gives_existing_matters_and_applications_their_entry(tmp_path):
    url = f"sqlite://{tmp_path / 'hub.sqlite3'}"
    database.migrate(url, "0015")
    db = sqlite3.connect(tmp_path / "hub.sqlite3", isolation_level=None)
    for code, catalog_code in (("340100-HF-LEAVE", "HF-LEAVE"), ("330106-BDL-0002", "BDL-0002"),
                               ("330100-NAT-0001", "NAT-0001")):
        _insert(db, "matters", code=code, catalog_code=catalog_code)
    for number in ("A-FUND", "A-STEP", "A-UNDO", "A-PLAIN"):
        _insert(db, "applications", number=number)
    _insert(db, "fund_withdrawals", public_id="w_1", application_number="A-FUND")
    _insert(db, "bundle_runs", id=1, number="R-1")
    _insert(db, "bundle_steps", run_id=1, key="s1", application_number="A-STEP", compensation_number="A-UNDO")
    db.close()

    database.migrate(url)

    db = sqlite3.connect(tmp_path / "hub.sqlite3")
    assert dict(db.execute("SELECT code, entry FROM matters")) == {
        "340100-HF-LEAVE": "housing_fund", "330106-BDL-0002": "bundle", "330100-NAT-0001": "application"}
    assert dict(db.execute("SELECT number, entry FROM applications")) == {
        "A-FUND": "housing_fund", "A-STEP": "bundle", "A-UNDO": "bundle", "A-PLAIN": "application"}
    db.close()
