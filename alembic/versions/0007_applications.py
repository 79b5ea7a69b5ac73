"""Applications (办件), their transitions, idempotency and materials (issue 4)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
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


def _application_fk(nullable: bool = False) -> sa.Column:
    return sa.Column("application_id", sa.BigInteger(), sa.ForeignKey("applications.id", ondelete="CASCADE"),
                     nullable=nullable)


def upgrade() -> None:
    # Index and constraint names are the ones Tortoise gives the models (domain/applications/models.py).
    op.create_table(
        "applications",
        _id(),
        sa.Column("number", sa.String(32), nullable=False, unique=True),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("matter_code", sa.String(64), nullable=False),
        sa.Column("matter_name", sa.String(200), nullable=False),
        sa.Column("department_code", sa.String(64), nullable=False),
        sa.Column("region_code", sa.String(12), nullable=False),
        sa.Column("node_code", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("form_sealed", sa.Text(), nullable=False),
        sa.Column("promised_limit_days", sa.SmallInteger(), nullable=False),
        sa.Column("due_on", sa.Date()),
        sa.Column("calendar_basis", sa.String(16)),
        sa.Column("overdue", BOOL, nullable=False),
        sa.Column("department_reference", sa.String(64)),
        sa.Column("decision", JSON),
        sa.Column("submitted_at", **ts()),
        sa.Column("accepted_at", **ts(True)),
        sa.Column("correction_requested_at", **ts(True)),
        sa.Column("resubmitted_at", **ts(True)),
        sa.Column("decided_at", **ts(True)),
        sa.Column("closed_at", **ts(True)),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", **ts()),
        sa.Column("updated_at", **ts()),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_application_person__f82426", "applications", ["person_id", "id"])
    op.create_index("idx_application_status_048dd2", "applications", ["status", "due_on"])
    op.create_table(
        "application_transitions",
        _id(),
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("from_status", sa.String(24)),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("at", **ts()),
        sa.Column("actor_kind", sa.String(16), nullable=False),
        sa.Column("actor_id", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("event_id", sa.String(64)),
        _application_fk(),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_application_applica_250c65", "application_transitions", ["application_id", "id"])
    op.create_table(
        "application_node_events",
        _id(),
        sa.Column("node_code", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("occurred_at", **ts()),
        sa.Column("reason", sa.Text()),
        sa.Column("department_reference", sa.String(64)),
        sa.Column("body_hash", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("answer", JSON, nullable=False),
        sa.Column("received_at", **ts()),
        _application_fk(),
        sa.UniqueConstraint("node_code", "event_id", name="uid_application_node_co_9cd8b1"),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_application_applica_b74348", "application_node_events",
                    ["application_id", "outcome"])
    op.create_table(
        "application_materials",
        _id(),
        sa.Column("public_id", sa.String(32), nullable=False, unique=True),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("slot", sa.String(200)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("storage_key", sa.String(200)),
        sa.Column("filename", sa.String(200)),
        sa.Column("content_type", sa.String(64)),
        sa.Column("size", sa.BigInteger()),
        sa.Column("sha256", sa.String(64)),
        sa.Column("license_id", sa.String(128)),
        sa.Column("license_type", sa.String(32)),
        sa.Column("created_at", **ts()),
        sa.Column("attached_at", **ts(True)),
        _application_fk(nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("idx_application_person__adefec", "application_materials", ["person_id"])
    op.create_index("idx_application_applica_7cd506", "application_materials", ["application_id", "slot"])
    op.create_table(
        "application_idempotency",
        _id(),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("application_number", sa.String(32)),
        sa.Column("created_at", **ts()),
        sa.UniqueConstraint("person_id", "key", name="uid_application_person__8bc2fa"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "application_number_sequences",
        _id(),
        sa.Column("region6", sa.String(6), nullable=False),
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last_value", sa.Integer(), nullable=False),
        sa.UniqueConstraint("region6", "day", name="uid_application_region6_00095b"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    for table in ("application_number_sequences", "application_idempotency", "application_materials",
                  "application_node_events", "application_transitions", "applications"):
        op.drop_table(table)
