"""People as they were at a moment: ``people.merged_at``, and indexes on the three times

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07

The figures' people levels (registered, real-name verified) were counted over the whole ``people``
table on every tick of the figures job: ~200 ms a count at 2 million people, seconds at the seed's
hundred million. Now a level is the day before's kept level plus the day's changes — people created,
verified and merged within it — each a range count over an index (domain/figures/service.py). A
merge needs its time for that: records merged before this migration take the time they were last
changed, which for a merged (inert) record is its merge.

On PostgreSQL the indexes are built CONCURRENTLY: registrations go on while they are built.
"""
import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# (the name Tortoise gives the model's index, column): domain/identity/models.py
INDEXES = (
    ("idx_people_created_26803f", "created_at"),
    ("idx_people_real_na_0e4499", "real_name_verified_at"),
    ("idx_people_merged__9ea40b", "merged_at"),
)


def upgrade() -> None:
    op.add_column("people", sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE people SET merged_at = updated_at WHERE merged_into_id IS NOT NULL")
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, column in INDEXES:
                op.create_index(name, "people", [column], postgresql_concurrently=True)
    else:
        for name, column in INDEXES:
            op.create_index(name, "people", [column])


def downgrade() -> None:
    for name, _ in INDEXES:
        op.drop_index(name, table_name="people")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("merged_at")
