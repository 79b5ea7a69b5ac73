"""Outbox deliveries to nodes and notification channels (issue 4)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27

``deliveries`` is the transactional outbox (domain/delivery), ``delivery_attempts`` the log of
every try, ``delivery_summaries`` the daily alert summaries, and
``nodes.endpoint_url`` where the hub delivers to a node (docs/delivery.md).
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def upgrade() -> None:
    # Index names are the ones Tortoise gives the models (domain/delivery/models.py).
    op.add_column("nodes", sa.Column("endpoint_url", sa.String(500), nullable=True))
    op.create_table(
        "deliveries",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("target", sa.String(64), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", **ts()),
        sa.Column("claimed_by", sa.String(64)),
        sa.Column("claimed_until", **ts(True)),
        sa.Column("last_error", sa.String(500)),
        sa.Column("last_status_code", sa.Integer()),
        sa.Column("parked_reason", sa.String(500)),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sa.Column("delivered_at", **ts(True)),
        sa.Column("parked_at", **ts(True)),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_deliveries_kind_07693c", "deliveries", ["kind"])
    op.create_index("idx_deliveries_target_1a0188", "deliveries", ["target"])
    op.create_index("idx_deliveries_created_1840ab", "deliveries", ["created_at"])
    op.create_index("idx_deliveries_status_5e7a9d", "deliveries", ["status", "next_attempt_at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("relay", sa.String(64), nullable=False),
        sa.Column("started_at", **ts()),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer()),
        sa.Column("error", sa.String(500)),
        sa.Column("response_excerpt", sa.String(1000)),
        sa.Column("delivery_id", sa.BigInteger(), sa.ForeignKey("deliveries.id", ondelete="CASCADE"),
                  nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_delivery_at_deliver_bd405d", "delivery_attempts", ["delivery_id", "number"])
    op.create_table(
        "delivery_summaries",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("taken_at", **ts()),
        sa.Column("summary", JSON, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_delivery_su_taken_a_a1e1e7", "delivery_summaries", ["taken_at"])


def downgrade() -> None:
    op.drop_table("delivery_summaries")
    op.drop_table("delivery_attempts")
    op.drop_table("deliveries")
    with op.batch_alter_table("nodes") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_column("endpoint_url")
