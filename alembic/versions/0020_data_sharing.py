"""Data sharing (一网通享, issue #14): data services, grants, the message log and its timestamps,
the citizen's data uses

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Constraint and index names are the ones Tortoise gives the models (domain/sharing/models.py).
    op.create_table(
        "data_services",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("subsystem", sa.String(64), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("owner_department", sa.String(200), nullable=False),
        sa.Column("fields_spec", JSON, nullable=False),
        sa.Column("operations", JSON, nullable=False),
        sa.Column("subject", JSON),
        sa.Column("openapi", JSON, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("retire_at", TS),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.UniqueConstraint("provider", "code", "version", name="uid_data_servic_provide_d07040"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "data_grants",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("fields_requested", JSON, nullable=False),
        sa.Column("fields_granted", JSON),
        sa.Column("operations", JSON),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("expected_daily_calls", sa.Integer(), nullable=False),
        sa.Column("quota_per_minute", sa.Integer()),
        sa.Column("investigative", BOOL, nullable=False),
        sa.Column("embargo_days", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("valid_from", TS),
        sa.Column("valid_until", TS),
        sa.Column("requested_at", TS, nullable=False),
        sa.Column("decided_at", TS),
        sa.Column("updated_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_data_grants_status_c227b4", "data_grants", ["status"])
    op.create_index("idx_data_grants_consume_cfce85", "data_grants", ["consumer", "provider", "service_code"])
    op.create_table(
        "exchange_messages",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("message_id", sa.String(128), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False, unique=True),
        sa.Column("client", sa.String(200), nullable=False),
        sa.Column("service", sa.String(300), nullable=False),
        sa.Column("grant_id", sa.String(32)),
        sa.Column("consumer", sa.String(64), nullable=False),
        sa.Column("provider", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(128)),
        sa.Column("issue", sa.String(200)),
        sa.Column("subject_hash", sa.String(64)),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("fields_returned", JSON, nullable=False),
        sa.Column("request_in_at", TS, nullable=False),
        sa.Column("request_out_at", TS),
        sa.Column("response_in_at", TS),
        sa.Column("response_out_at", TS, nullable=False),
        sa.Column("request_bytes", sa.Integer(), nullable=False),
        sa.Column("response_bytes", sa.Integer(), nullable=False),
        sa.Column("request_digest", sa.String(64), nullable=False),
        sa.Column("response_digest", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(100), nullable=False),
        sa.Column("status", sa.SmallInteger(), nullable=False),
        sa.Column("fault", sa.String(64)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("stamp_id", sa.BigInteger()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_exchange_me_stamp_i_6feeeb", "exchange_messages", ["stamp_id"])
    op.create_table(
        "exchange_message_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "exchange_message_stamps",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("first_seq", sa.BigInteger(), nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("token", sa.LargeBinary(), nullable=False),
        sa.Column("stamped_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "data_uses",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("at", TS, nullable=False),
        sa.Column("visible_from", TS, nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("node_name", sa.String(200), nullable=False),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("service_title", sa.String(200), nullable=False),
        sa.Column("fields_used", JSON, nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("issue", sa.String(200)),
        sa.Column("outcome", sa.String(24), nullable=False),
        sa.Column("request_id", sa.String(64)),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_data_uses_subject_40414d", "data_uses", ["subject_hash", "visible_from"])


def downgrade() -> None:
    for table in ("data_uses", "exchange_message_stamps", "exchange_message_head", "exchange_messages",
                  "data_grants", "data_services"):
        op.drop_table(table)
