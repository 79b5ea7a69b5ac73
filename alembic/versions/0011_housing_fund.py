"""Housing provident fund: withdrawals, per-period quotas, payout events (issue 7)

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def _id() -> sa.Column:
    return sa.Column("id", BIGID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    # Constraint and index names are the ones Tortoise gives the models (domain/housing_fund/models.py).
    op.create_table(
        "fund_withdrawals",
        _id(),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("centre_code", sa.String(64), nullable=False),
        sa.Column("account_no", sa.String(32), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("card_sealed", sa.Text(), nullable=False),
        sa.Column("card_masked", sa.String(32), nullable=False),
        sa.Column("bank_name", sa.String(64)),
        sa.Column("details", JSON, nullable=False),
        sa.Column("checks", JSON, nullable=False),
        sa.Column("rule_clear", BOOL, nullable=False),
        sa.Column("period_key", sa.String(48), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("face_session_id", sa.String(32)),
        sa.Column("submit_key", sa.String(128)),
        sa.Column("payout_id", sa.String(32), unique=True),
        sa.Column("application_number", sa.String(32)),
        sa.Column("payout_reason", sa.Text()),
        sa.Column("bank_reference", sa.String(64)),
        sa.Column("created_at", **ts()),
        sa.Column("expires_at", **ts()),
        sa.Column("submitted_at", **ts(True)),
        sa.Column("settled_at", **ts(True)),
        sa.Column("updated_at", **ts()),
        sa.UniqueConstraint("person_id", "submit_key", name="uid_fund_withdr_person__3b4a9e"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_fund_withdr_person__c0a1d2", "fund_withdrawals", ["person_id", "id"])
    op.create_table(
        "fund_quotas",
        _id(),
        sa.Column("account_key", sa.String(100), nullable=False),
        sa.Column("period_key", sa.String(48), nullable=False),
        sa.Column("used_fen", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", **ts()),
        sa.UniqueConstraint("account_key", "period_key", name="uid_fund_quotas_account_5d1e7f"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "fund_payout_events",
        _id(),
        sa.Column("node_code", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("occurred_at", **ts()),
        sa.Column("reason", sa.Text()),
        sa.Column("bank_reference", sa.String(64)),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("answer", JSON, nullable=False),
        sa.Column("received_at", **ts()),
        sa.Column("withdrawal_id", sa.BigInteger(), sa.ForeignKey("fund_withdrawals.id", ondelete="CASCADE"),
                  nullable=False),
        sa.UniqueConstraint("node_code", "event_id", name="uid_fund_payout_node_co_8e2c41"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in ("fund_payout_events", "fund_quotas", "fund_withdrawals"):
        op.drop_table(table)
