"""Health codes recognised across regions (健康码互通互认, issue #15): issuers' keys, pooled records,
codes, rules, revocation batches and the heads of the three signed lists

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""
import sqlalchemy as sa

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
JSON = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")
BOOL = sa.Boolean().with_variant(sa.Integer(), "sqlite")
TS = sa.DateTime(timezone=True)


def _id() -> sa.Column:
    return sa.Column("id", BIGID, primary_key=True, autoincrement=True)


def upgrade() -> None:
    # Constraint and index names are the ones Tortoise gives the models (domain/health/models.py).
    op.create_table(
        "health_feed_heads",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", TS),
    )
    op.create_table(
        "health_issuer_keys", _id(),
        sa.Column("kid", sa.String(16), nullable=False, unique=True),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("node_code", sa.String(64), nullable=False),
        sa.Column("alg", sa.String(16), nullable=False),
        sa.Column("certificate", sa.Text(), nullable=False),
        sa.Column("credential_types", JSON, nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("delegated", BOOL, nullable=False),
        sa.Column("private_key_sealed", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("revoked_at", TS),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_health_issu_region_c51ec1", "health_issuer_keys", ["region"])
    op.create_index("idx_health_issu_seq_b94ab1", "health_issuer_keys", ["seq"])
    op.create_table(
        "health_records", _id(),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("source_record_id", sa.String(64), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("occurred_at", TS, nullable=False),
        sa.Column("content_sealed", sa.Text(), nullable=False),
        sa.Column("received_at", TS, nullable=False),
        sa.UniqueConstraint("source", "source_record_id", name="uid_health_reco_source_8ff63e"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_health_reco_subject_7fd216", "health_records", ["subject_hash"])
    op.create_table(
        "health_codes", _id(),
        sa.Column("credential_id", sa.String(64), nullable=False, unique=True),
        sa.Column("credential_hash", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(40), nullable=False),
        sa.Column("subject_hash", sa.String(64), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("current_key", sa.String(64), unique=True),
        sa.Column("colour", sa.String(8), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("kid", sa.String(16), nullable=False),
        sa.Column("credential", sa.Text(), nullable=False),
        sa.Column("issued_at", TS, nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("revoked_at", TS),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_health_code_credent_a2d9ef", "health_codes", ["credential_hash"])
    op.create_index("idx_health_code_person__120d7e", "health_codes", ["person_id"])
    op.create_index("idx_health_code_subject_18ecd0", "health_codes", ["subject_hash"])
    op.create_table(
        "health_rules", _id(),
        sa.Column("identifier", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("certificate_type", sa.String(32), nullable=False),
        sa.Column("logic", JSON, nullable=False),
        sa.Column("description", JSON, nullable=False),
        sa.Column("affected_fields", JSON, nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("valid_until", TS, nullable=False),
        sa.Column("published_at", TS, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sa.UniqueConstraint("identifier", "version", name="uid_health_rule_identif_46d60d"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_health_rule_region_40b557", "health_rules", ["region"])
    op.create_index("idx_health_rule_seq_047494", "health_rules", ["seq"])
    op.create_table(
        "health_revocation_batches", _id(),
        sa.Column("batch_id", sa.String(32), nullable=False, unique=True),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("hashes", JSON, nullable=False),
        sa.Column("expires", TS, nullable=False),
        sa.Column("deleted", BOOL, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", TS, nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_health_revo_seq_117cf2", "health_revocation_batches", ["seq"])


def downgrade() -> None:
    for table in ("health_revocation_batches", "health_rules", "health_codes", "health_records",
                  "health_issuer_keys", "health_feed_heads"):
        op.drop_table(table)
