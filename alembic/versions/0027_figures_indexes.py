"""The figures' counts by time: indexes on the columns the hourly roll-up filters by

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07

The figures job (domain/figures) counts, every few minutes, the current and the previous hour
and their days: applications submitted and completed, instant approvals, licenses issued and
shown. Without these indexes each count read a whole table (a whole month's partition of
applications) that only grows. Measured on PostgreSQL with 2,000,000 applications in one month and
6,000,000 transitions, one hour's count: submitted 230 -> 7 ms, completed 310 -> 3 ms, instant
approvals 630 -> 9 ms (docs/console.md, "Dashboard"). The people counts are levels (everybody
registered until now), which an index does not make cheaper: no index for them.

On PostgreSQL the indexes of tables that are not partitioned are built CONCURRENTLY, so a hub
upgrading with millions of people does not stop registrations and showings while they are built.
``applications`` is partitioned (migration 0024): an index on the parent is built on every
partition, which PostgreSQL cannot do concurrently; its months are small enough to build in place.
"""
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

# (the name Tortoise gives the model's index, table, columns): domain/*/models.py
UNPARTITIONED = (
    ("idx_application_name_1c10f2", "application_transitions", ["name", "at"]),
    ("idx_licenses_issued__6c24e3", "licenses", ["issued_at"]),
    ("idx_license_pre_created_4e170b", "license_presentations", ["created_at"]),
)
PARTITIONED = (
    ("idx_application_submitt_f89ea0", "applications", ["submitted_at"]),
    ("idx_application_closed__675e02", "applications", ["closed_at"]),
)


def upgrade() -> None:
    for name, table, columns in PARTITIONED:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, columns in UNPARTITIONED:
                op.create_index(name, table, columns, postgresql_concurrently=True)
    else:
        for name, table, columns in UNPARTITIONED:
            op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in (*PARTITIONED, *UNPARTITIONED):
        op.drop_index(name, table_name=table)
