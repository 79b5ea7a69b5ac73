"""The platform's figures (平台运行数据, issue #16): rollups per hour and per Beijing day, kept by the
roll_up_figures job, read by the dashboard and GET /public/v1/figures

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-09
"""
import sqlalchemy as sa

from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Constraint and index names are the ones Tortoise gives the model (domain/figures/models.py).
    op.create_table(
        "figure_rollups",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("figure", sa.String(32), nullable=False),
        sa.Column("dimension", sa.String(100), nullable=False),
        sa.Column("grain", sa.String(8), nullable=False),
        sa.Column("period_start", TS, nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("rolled_at", TS, nullable=False),
        sa.UniqueConstraint("figure", "dimension", "grain", "period_start", name="uid_figure_roll_figure_e86e0e"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_figure_roll_grain_6ea4e5", "figure_rollups", ["grain", "period_start"])


def downgrade() -> None:
    op.drop_index("idx_figure_roll_grain_6ea4e5", table_name="figure_rollups")
    op.drop_table("figure_rollups")
