"""admin accounts, audit log and service topics

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")


def ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def _id() -> sa.Column:
    return sa.Column("id", BIGID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    # Index names are the ones Tortoise gives the models (domain/admin, domain/audit, domain/topics).
    op.create_table(
        "admin_accounts",
        _id(),
        sa.Column("username", sa.String(32), nullable=False, unique=True),
        sa.Column("display_name", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("roles", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("failed_logins", sa.SmallInteger(), nullable=False),
        sa.Column("locked_until", **ts(True)),
        sa.Column("last_login_at", **ts(True)),
        sa.Column("password_changed_at", **ts()),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "admin_sessions",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", **ts()),
        sa.Column("last_seen_at", **ts()),
        sa.Column("ip", sa.String(64)),
        sa.Column("account_id", sa.BigInteger(), sa.ForeignKey("admin_accounts.id", ondelete="CASCADE"),
                  nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "audit_log",
        _id(),
        sa.Column("at", **ts()),
        sa.Column("actor_id", sa.BigInteger()),
        sa.Column("actor_username", sa.String(64), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("target_type", sa.String(32), nullable=False),
        sa.Column("target_id", sa.String(128), nullable=False),
        sa.Column("before", JSON),
        sa.Column("after", JSON),
        sa.Column("request_id", sa.String(64)),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_audit_log_at_63718d", "audit_log", ["at"])
    op.create_index("idx_audit_log_actor_u_6c07f0", "audit_log", ["actor_username"])
    op.create_index("idx_audit_log_target__2d010d", "audit_log", ["target_type", "target_id"])
    op.create_table(
        "topics",
        _id(),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("title", sa.String(60), nullable=False),
        sa.Column("subtitle", sa.String(120)),
        sa.Column("banner_url", sa.String(500)),
        sa.Column("entries", JSON, nullable=False),
        sa.Column("channels", JSON, nullable=False),
        sa.Column("regions", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("starts_at", **ts(True)),
        sa.Column("ends_at", **ts(True)),
        sa.Column("weight", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_at", **ts(True)),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("updated_by", sa.String(64), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_topics_status_b9baec", "topics", ["status"])


def downgrade() -> None:
    for table in ("topics", "audit_log", "admin_sessions", "admin_accounts"):
        op.drop_table(table)
