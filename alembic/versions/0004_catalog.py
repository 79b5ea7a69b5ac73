"""the service catalog: matters, implementations, search index, popularity

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def upgrade() -> None:
    op.create_table(
        "catalog_items",
        sa.Column("code", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("for_individuals", BOOL, nullable=False),
        sa.Column("for_legal_persons", BOOL, nullable=False),
        sa.Column("life_events", JSON, nullable=False),
        sa.Column("themes", JSON, nullable=False),
        sa.Column("updated_at", **ts()),
    )
    op.create_table(
        "matters",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("catalog_code", sa.String(32), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False, index=True),
        sa.Column("for_individuals", BOOL, nullable=False),
        sa.Column("for_legal_persons", BOOL, nullable=False),
        sa.Column("life_events", JSON, nullable=False),
        sa.Column("themes", JSON, nullable=False),
        sa.Column("materials", JSON, nullable=False),
        sa.Column("legal_limit_days", sa.SmallInteger(), nullable=False),
        sa.Column("promised_limit_days", sa.SmallInteger(), nullable=False),
        sa.Column("fee_fen", sa.BigInteger(), nullable=False),
        sa.Column("online_depth", sa.SmallInteger(), nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("cross_province", BOOL, nullable=False),
        sa.Column("zones", JSON, nullable=False),
        sa.Column("form_schema", JSON, nullable=False),
        sa.Column("instant_approval", BOOL, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("views", sa.BigInteger(), nullable=False),
        sa.Column("applications", sa.BigInteger(), nullable=False),
        sa.Column("popularity", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_matters_region__popularity", "matters", ["region_code", "popularity"])
    _create_search_index()


def _create_search_index() -> None:
    """Character bigrams of names (and their pinyin) plus facet tokens, one row per matter.

    PostgreSQL: a tsvector with positions (phrase queries) under a GIN index. SQLite: an FTS5
    table whose rowid is the matter id (phrase queries over space-separated grams).
    """
    if op.get_context().dialect.name == "postgresql":
        op.execute("CREATE TABLE matter_search (matter_id BIGINT PRIMARY KEY REFERENCES matters (id) "
                   "ON DELETE CASCADE, document TSVECTOR NOT NULL)")
        op.execute("CREATE INDEX idx_matter_search_document ON matter_search USING GIN (document)")
    else:
        op.execute("CREATE VIRTUAL TABLE matter_search USING fts5(name_grams, initial_grams, pinyin_grams, "
                   "facets, tokenize = 'unicode61 remove_diacritics 0')")


def downgrade() -> None:
    op.execute("DROP TABLE IF EXISTS matter_search")
    op.drop_table("matters")
    op.drop_table("catalog_items")
