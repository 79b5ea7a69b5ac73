"""Instant approval's name registry; notifications: preferences, subscriptions, messages (issue 4)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
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
    # Index and constraint names are the ones Tortoise gives the models
    # (domain/applications/business_names.py, domain/notifications/models.py).
    op.create_table(
        "business_names",
        _id(),
        sa.Column("region6", sa.String(6), nullable=False),
        sa.Column("name", sa.String(60), nullable=False),
        sa.Column("name_key", sa.String(60), nullable=False),
        sa.Column("word", sa.String(20), nullable=False),
        sa.Column("industry", sa.String(20), nullable=False),
        sa.Column("credit_code", sa.String(18), unique=True),
        sa.Column("application_number", sa.String(32)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("registered_at", **ts()),
        sa.UniqueConstraint("region6", "name_key", name="uid_business_na_region6_e8b6aa"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_business_na_region6_68666c", "business_names", ["region6", "word", "industry"])
    op.create_table(
        "notification_preferences",
        _id(),
        sa.Column("person_id", sa.String(32), nullable=False, unique=True),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("sms_fallback", BOOL, nullable=False),
        sa.Column("updated_at", **ts()),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "notification_subscriptions",
        _id(),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("template_id", sa.String(64), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
        sa.Column("granted_at", **ts()),
        sa.Column("updated_at", **ts()),
        sa.UniqueConstraint("person_id", "channel", "template_id", name="uid_notificatio_person__62ecd0"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "notifications",
        _id(),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("application_number", sa.String(32), nullable=False),
        sa.Column("at", **ts()),
        sa.Column("transition", sa.String(32), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("matter_name", sa.String(200), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("due_on", sa.Date()),
        sa.Column("channel", sa.String(16)),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("note", sa.String(200)),
        sa.Column("delivery_id", sa.BigInteger()),
        sa.Column("sent_at", **ts(True)),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sa.UniqueConstraint("application_number", "at", name="uid_notificatio_applica_d56350"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_notificatio_person__a28090", "notifications", ["person_id", "id"])


def downgrade() -> None:
    for table in ("notifications", "notification_subscriptions", "notification_preferences", "business_names"):
        op.drop_table(table)
