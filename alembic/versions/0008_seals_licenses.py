"""Seals, licenses, their history, presentations, consents and the access log (issue 5)

License types are not a table: they are the reviewed data file domain/licenses/seed_data.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


def ts(nullable: bool = False) -> dict:
    return {"type_": sa.DateTime(timezone=True), "nullable": nullable}


def _id() -> sa.Column:
    return sa.Column("id", BIGID, primary_key=True, autoincrement=True)


def _text(name: str, length: int, nullable: bool = False, **options) -> sa.Column:
    return sa.Column(name, sa.String(length), nullable=nullable, **options)


def _license_fk() -> sa.Column:
    return sa.Column("license_id", sa.BigInteger(), sa.ForeignKey("licenses.id", ondelete="RESTRICT"),
                     nullable=False)


def upgrade() -> None:
    # Index names are the ones Tortoise gives the models (domain/seals, domain/licenses).
    op.create_table(
        "seals",
        _id(),
        _text("code", 64, unique=True),
        _text("department_code", 64),
        _text("department_kind", 48),
        _text("node_code", 64),
        _text("name", 128),
        _text("algorithm", 16),
        _text("key_id", 16, unique=True),
        sa.Column("public_key", sa.Text(), nullable=False),
        sa.Column("private_key_sealed", sa.Text(), nullable=False),
        sa.Column("valid_from", **ts()),
        sa.Column("valid_until", **ts()),
        _text("status", 16),
        sa.Column("revoked_at", **ts(True)),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("created_at", **ts()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_seals_departm_4bfdca", "seals", ["department_code"])
    op.create_index("idx_seals_node_co_005d2e", "seals", ["node_code"])
    op.create_index("idx_seals_version_efbfcc", "seals", ["version"])
    op.create_table(
        "licenses",
        _id(),
        _text("public_id", 32, unique=True),
        _text("type_code", 48),
        _text("number", 64),
        _text("issuer_node", 64),
        _text("issuer_department", 64),
        _text("seal_code", 64),
        _text("holder_kind", 16),
        _text("holder_hash", 64),
        _text("wallet_hash", 64),
        sa.Column("data_sealed", sa.Text(), nullable=False),
        sa.Column("disclosures_sealed", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("stamp", JSON, nullable=False),
        _text("status", 16),
        sa.Column("valid_from", **ts()),
        sa.Column("valid_until", **ts(True)),
        sa.Column("issued_at", **ts()),
        sa.Column("status_changed_at", **ts()),
        sa.UniqueConstraint("type_code", "number", name="uid_licenses_type_co_b74a78"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_licenses_type_co_510169", "licenses", ["type_code"])
    op.create_index("idx_licenses_issuer__0299e5", "licenses", ["issuer_node"])
    op.create_index("idx_licenses_holder__5732cf", "licenses", ["holder_hash"])
    op.create_index("idx_licenses_wallet__29b13a", "licenses", ["wallet_hash"])
    op.create_table(
        "license_events",
        _id(),
        sa.Column("at", **ts()),
        _text("action", 16),
        _text("status_from", 16, nullable=True),
        _text("status_to", 16),
        _text("reason", 200, nullable=True),
        _text("actor", 64),
        _license_fk(),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "license_presentations",
        _id(),
        _text("public_id", 32, unique=True),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("slot", sa.Integer(), nullable=False),
        sa.Column("fields_shown", JSON, nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("expires_at", **ts()),
        sa.Column("verified_at", **ts(True)),
        _license_fk(),
        sa.UniqueConstraint("epoch", "slot", name="uid_license_pre_epoch_ac58d0"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "license_consents",
        _id(),
        _text("public_id", 32, unique=True),
        _text("wallet_hash", 64),
        _text("department", 64),
        _text("type_code", 48),
        _text("purpose", 200),
        _text("kind", 16),
        _text("status", 16),
        sa.Column("created_at", **ts()),
        sa.Column("granted_at", **ts(True)),
        sa.Column("expires_at", **ts(True)),
        sa.Column("used_at", **ts(True)),
        sa.Column("revoked_at", **ts(True)),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_license_con_wallet__5773a6", "license_consents", ["wallet_hash"])
    op.create_index("idx_license_con_departm_628f6b", "license_consents", ["department", "type_code"])
    op.create_table(
        "license_access_log",
        _id(),
        sa.Column("seq", sa.BigInteger(), nullable=False, unique=True),
        sa.Column("at", **ts()),
        _text("wallet_hash", 64),
        _text("license_id", 32),
        _text("type_code", 48),
        _text("actor_kind", 16),
        _text("actor", 64),
        _text("action", 32),
        _text("purpose", 200),
        _text("outcome", 16),
        _text("prev_hash", 64),
        _text("hash", 64),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_license_acc_wallet__e2378c", "license_access_log", ["wallet_hash"])
    op.create_table(
        "license_access_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        _text("hash", 64),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in ("license_access_head", "license_access_log", "license_consents", "license_presentations",
                  "license_events", "licenses", "seals"):
        op.drop_table(table)
