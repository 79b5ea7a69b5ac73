"""Deliveries in order within a key: ``deliveries.ordering_key`` and ``ordering_position``
(docs/delivery.md, "Order"; issue #17)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-06

A citizen's messages about one application share a key (``notify:<number>``) and carry their
place in the application's history; the relay sends one only when every one before it is done.
The index answers the relay's question "is anything of this key before it still pending?".
Rows written before have no key: they are sent as before, in no particular order.
"""
import sqlalchemy as sa

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("deliveries", sa.Column("ordering_key", sa.String(100), nullable=True))
    op.add_column("deliveries", sa.Column("ordering_position", sa.BigInteger(), nullable=True))
    # the name Tortoise gives the model's index (domain/delivery/models.py)
    op.create_index("idx_deliveries_orderin_fb5778", "deliveries", ["ordering_key", "status"])


def downgrade() -> None:
    op.drop_index("idx_deliveries_orderin_fb5778", table_name="deliveries")
    op.drop_column("deliveries", "ordering_position")
    op.drop_column("deliveries", "ordering_key")
