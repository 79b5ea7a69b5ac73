"""Outbox payloads sealed at rest: ``deliveries.payload_sealed``; ``payload`` kept for older rows

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27

A delivery's payload is citizens' data (an application's form, a name). New rows store it sealed
with the vault, bound to the row's dedupe key (domain/delivery/service.py); rows written before
keep their clear ``payload`` until they are delivered, which is why it becomes nullable rather
than being dropped.
"""
import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:  # SQLite changes a column by rebuilding the table
        batch.add_column(sa.Column("payload_sealed", sa.Text(), nullable=True))
        batch.alter_column("payload", existing_type=JSON, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("payload_sealed")
        batch.alter_column("payload", existing_type=JSON, nullable=False)
