"""Search words (搜索词, issue #16): the synonym and abbreviation dictionary search expands queries with

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-08
"""
import sqlalchemy as sa

from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # As Tortoise declares the model (domain/catalog/models.py SearchWord): the term's inline UNIQUE.
    op.create_table(
        "search_words",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("term", sa.String(16), nullable=False, unique=True),
        sa.Column("expansions", JSON, nullable=False),
        sa.Column("two_way", BOOL, nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("search_words")
