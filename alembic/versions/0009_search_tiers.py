"""Catalog search: popularity tiers, name-start lexemes and the columns a page is ranked by

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27

A search used to recheck every matching row and join it to ``matters`` for its name and
popularity: a common word cost hundreds of milliseconds on 3.6 million matters
(docs/benchmarks.md). The index row now carries what ranking needs (tier, popularity, name_key) and the channel filter
as a bit mask (a channel token on 80 % of the documents cost ~40 ms of GIN scan per search),
and hot/warm matters are indexed a second time under their tier (domain/catalog/search_rules.py),
so a first page is answered from a few hundred candidates.

The documents change shape, so the index is rebuilt from ``matters`` here, in batches. On a
national catalog that is a long migration (about the time of the first load's document building,
~0.3 ms a matter); run it in a maintenance window, or load with bench/generate_catalog.py's
COPY path, which writes the new shape directly.
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

BATCH = 2000
_COLUMNS = ("id", "name", "region_code", "cross_province", "department_code", "kind", "for_individuals",
            "for_legal_persons", "life_events", "channels", "zones", "popularity")


def upgrade() -> None:
    postgres = op.get_context().dialect.name == "postgresql"
    op.execute("DROP TABLE IF EXISTS matter_search")
    if postgres:
        op.execute("CREATE TABLE matter_search (matter_id BIGINT PRIMARY KEY REFERENCES matters (id) "
                   "ON DELETE CASCADE, document TSVECTOR NOT NULL, tier SMALLINT NOT NULL, "
                   "popularity BIGINT NOT NULL, name_key TEXT NOT NULL, channels SMALLINT NOT NULL)")
    else:
        op.execute("CREATE VIRTUAL TABLE matter_search USING fts5(name_grams, initial_grams, pinyin_grams, "
                   "facets, tier_name, tier_initials, tier_pinyin, tier UNINDEXED, popularity UNINDEXED, "
                   "name_key UNINDEXED, channels UNINDEXED, tokenize = 'unicode61 remove_diacritics 0')")
    _rebuild(postgres)
    if postgres:  # after the rows: one GIN build is much faster than row-by-row maintenance
        op.execute("CREATE INDEX idx_matter_search_document ON matter_search USING GIN (document)")


def _rebuild(postgres: bool) -> None:
    from domain.catalog import search_rules as sr

    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.text(f"SELECT {', '.join(_COLUMNS)} FROM matters WHERE status = 'active' "
                                    "AND id > :last ORDER BY id LIMIT :n"), {"last": last, "n": BATCH}).mappings().all()
        if not rows:
            return
        last = rows[-1]["id"]
        docs = [(r["id"], sr.document(r["name"], _facets(sr, r), r["popularity"])) for r in rows]
        if postgres:
            bind.execute(sa.text("INSERT INTO matter_search (matter_id, document, tier, popularity, name_key, "
                                 "channels) VALUES (:id, CAST(:doc AS tsvector), :tier, :popularity, :name_key, "
                                 ":channels)"),
                         [{"id": i, "doc": sr.tsvector_literal(d), "tier": d.tier, "popularity": d.popularity,
                           "name_key": d.name_key, "channels": d.channels} for i, d in docs])
        else:
            names = ", ".join(sr.FTS5_COLUMNS)
            values = ", ".join(f":c{n}" for n in range(len(sr.FTS5_COLUMNS)))
            bind.execute(sa.text(f"INSERT INTO matter_search (rowid, {names}) VALUES (:id, {values})"),
                         [{"id": i, **{f"c{n}": v for n, v in enumerate(sr.fts5_row(d))}} for i, d in docs])


def _facets(sr, row):
    def listed(value):
        return tuple(json.loads(value) if isinstance(value, str) else value or ())

    return sr.Facets(region_code=row["region_code"], cross_province=bool(row["cross_province"]),
                     department_code=row["department_code"], kind=row["kind"],
                     for_individuals=bool(row["for_individuals"]), for_legal_persons=bool(row["for_legal_persons"]),
                     life_events=listed(row["life_events"]), channels=listed(row["channels"]),
                     zones=listed(row["zones"]))


def downgrade() -> None:
    raise NotImplementedError("the old index shape is not rebuilt; restore from a backup or rerun the import")
