"""Consent reports under an Idempotency-Key: a retried report is counted once

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # The constraint name is the one Tortoise gives the model (domain/notifications/models.py).
    op.create_table(
        "notification_consent_reports",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "key", name="uid_notificatio_person__eb1a0e"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("notification_consent_reports")
