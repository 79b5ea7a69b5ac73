"""One-thing bundles: declarations, runs and their steps (issue 6)

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
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


def _run_fk() -> sa.Column:
    return sa.Column("run_id", sa.BigInteger(), sa.ForeignKey("bundle_runs.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    # Index and constraint names are the ones Tortoise gives the models (domain/bundles/models.py).
    op.create_table(
        "bundles",
        _id(),
        sa.Column("code", sa.String(64), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("draft", JSON, nullable=False),
        sa.Column("published", JSON),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("published_version", sa.Integer()),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sa.Column("published_at", **ts(True)),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "bundle_runs",
        _id(),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("bundle_code", sa.String(64), nullable=False),
        sa.Column("bundle_version", sa.Integer(), nullable=False),
        sa.Column("bundle_name", sa.String(200), nullable=False),
        sa.Column("definition", JSON, nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("form_sealed", sa.Text(), nullable=False),
        sa.Column("chosen_optional", JSON, nullable=False),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("confirmer_hash", sa.String(64)),
        sa.Column("confirmation", sa.String(16)),
        sa.Column("confirmed_at", **ts(True)),
        sa.Column("confirmer_id", sa.String(32)),
        sa.Column("needs_advance", BOOL, nullable=False),
        sa.Column("lease_until", **ts(True)),
        sa.Column("deadline_at", **ts()),
        sa.Column("stuck_at", **ts(True)),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sa.Column("completed_at", **ts(True)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.UniqueConstraint("person_id", "idempotency_key", name="uid_bundle_runs_person__b7db0a"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_bundle_runs_person__1ce3e9", "bundle_runs", ["person_id", "id"])
    op.create_index("idx_bundle_runs_status_c347c9", "bundle_runs", ["status", "needs_advance"])
    op.create_index("idx_bundle_runs_status_ee3175", "bundle_runs", ["status", "deadline_at"])
    op.create_index("idx_bundle_runs_confirm_f00eba", "bundle_runs", ["confirmer_hash"])
    op.create_table(
        "bundle_steps",
        _id(),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("application_number", sa.String(32)),
        sa.Column("application_status", sa.String(24)),
        sa.Column("outputs", JSON, nullable=False),
        sa.Column("failure", JSON),
        sa.Column("last_error", sa.Text()),
        sa.Column("compensation_number", sa.String(32)),
        sa.Column("history", JSON, nullable=False),
        sa.Column("submitted_at", **ts(True)),
        sa.Column("finished_at", **ts(True)),
        sa.Column("updated_at", **ts()),
        _run_fk(),
        sa.UniqueConstraint("run_id", "key", name="uid_bundle_step_run_id_38c57f"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_bundle_step_applica_e7e30f", "bundle_steps", ["application_number"])
    op.create_table(
        "bundle_events",
        _id(),
        sa.Column("step_key", sa.String(64)),
        sa.Column("at", **ts()),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        _run_fk(),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_bundle_even_run_id_f34e5a", "bundle_events", ["run_id", "id"])


def downgrade() -> None:
    for table in ("bundle_events", "bundle_steps", "bundle_runs", "bundles"):
        op.drop_table(table)
