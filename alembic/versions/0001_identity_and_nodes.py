"""identity (people, channel accounts, SMS challenges, face sessions, tokens, keys) and nodes

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")


def ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def _id() -> sa.Column:
    return sa.Column("id", BIGID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    op.create_table(
        "people",
        _id(),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("name_sealed", sa.Text()),
        sa.Column("id_number_sealed", sa.Text()),
        sa.Column("id_number_hash", sa.String(64), unique=True),
        sa.Column("id_number_masked", sa.String(18)),
        sa.Column("phone_sealed", sa.Text()),
        sa.Column("phone_hash", sa.String(64), index=True),
        sa.Column("assurance", sa.SmallInteger(), nullable=False),
        sa.Column("real_name_verified_at", **ts(True)),
        sa.Column("face_verified_at", **ts(True)),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sa.Column("merged_into_id", sa.BigInteger(), sa.ForeignKey("people.id", ondelete="RESTRICT")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "channel_accounts",
        _id(),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("unionid", sa.String(64), index=True),
        sa.Column("session_key_sealed", sa.Text()),
        sa.Column("created_at", **ts()),
        sa.Column("last_login_at", **ts(True)),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("people.id", ondelete="RESTRICT"), nullable=False),
        sa.UniqueConstraint("channel", "subject", name="uid_channel_acc_channel_060018"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "face_sessions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("provider_session", sa.String(128), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("expires_at", **ts()),
        sa.Column("read_at", **ts(True)),
        sa.Column("passed", BOOL),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("people.id", ondelete="RESTRICT"), nullable=False),
    )
    op.create_table(
        "refresh_tokens",
        _id(),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("family_id", sa.String(32), nullable=False, index=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("device_id", sa.String(128)),
        sa.Column("assurance", sa.SmallInteger(), nullable=False),
        sa.Column("issued_at", **ts()),
        sa.Column("expires_at", **ts()),
        sa.Column("used_at", **ts(True)),
        sa.Column("revoked_at", **ts(True)),
        sa.Column("person_id", sa.BigInteger(), sa.ForeignKey("people.id", ondelete="RESTRICT"), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("public_jwk", sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("retired_at", **ts(True)),
    )
    op.create_table(
        "sms_challenges",
        _id(),
        sa.Column("phone_hash", sa.String(64), nullable=False, index=True),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("expires_at", **ts()),
        sa.Column("consumed_at", **ts(True)),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "nodes",
        _id(),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in ("nodes", "sms_challenges", "signing_keys", "refresh_tokens", "face_sessions",
                  "channel_accounts", "people"):
        op.drop_table(table)
