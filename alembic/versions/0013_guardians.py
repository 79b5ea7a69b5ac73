"""Guardians of minors, from birth medical certificates: the guardian's view of a child's licenses

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Index and constraint names are the ones Tortoise gives the model (domain/licenses/models.py).
    op.create_table(
        "license_guardians",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("basis_id", sa.BigInteger(), sa.ForeignKey("licenses.id", ondelete="RESTRICT"), nullable=False),
        sa.Column("child_key", sa.String(64), nullable=False),
        sa.Column("guardian_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("minor_hash", sa.String(64)),
        sa.Column("adult_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("basis_id", "guardian_hash", name="uid_license_gua_basis_i_b5ee82"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_license_gua_child_k_c40dda", "license_guardians", ["child_key"])
    op.create_index("idx_license_gua_guardia_068207", "license_guardians", ["guardian_hash"])
    op.create_index("idx_license_gua_minor_h_989fe8", "license_guardians", ["minor_hash"])


def downgrade() -> None:
    op.drop_table("license_guardians")
