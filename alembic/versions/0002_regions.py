"""regions, departments and zones

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")


def ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def _id() -> sa.Column:
    return sa.Column("id", BIGID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    # Index and constraint names are the ones Tortoise gives the models (domain/regions/models.py).
    op.create_table(
        "regions",
        sa.Column("code", sa.String(12), primary_key=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("parent_code", sa.String(12)),
        sa.Column("updated_at", **ts()),
    )
    op.create_index("idx_regions_parent__22f669", "regions", ["parent_code"])
    op.create_table(
        "departments",
        _id(),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("kind", sa.String(48), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_departments_region__771957", "departments", ["region_code"])
    op.create_table(
        "zones",
        sa.Column("code", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False),
    )
    op.create_table(
        "zone_regions",
        _id(),
        sa.Column("zone_code", sa.String(16), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.UniqueConstraint("zone_code", "region_code", name="uid_zone_region_zone_co_27507a"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_zone_region_region__acbf4e", "zone_regions", ["region_code"])


def downgrade() -> None:
    for table in ("zone_regions", "zones", "departments", "regions"):
        op.drop_table(table)
