"""The message log by time: an index on ``exchange_messages.request_in_at`` (docs/sharing.md)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07

The platform's figures (domain/figures) count the calls of an hour or a day by kind and consumer
every few minutes; without an index each count read the whole log, which only grows. The table
is not partitioned (migration 0024 partitions applications, deliveries and notifications).
"""
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the name Tortoise gives the model's index (domain/sharing/models.py)
    op.create_index("idx_exchange_me_request_33325b", "exchange_messages", ["request_in_at"])


def downgrade() -> None:
    op.drop_index("idx_exchange_me_request_33325b", table_name="exchange_messages")
