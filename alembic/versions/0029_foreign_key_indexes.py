"""An index under every foreign key the hub looks up by, or whose parent it deletes

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-07

PostgreSQL indexes the referenced side of a foreign key, never the referencing one. Seven were
bare: every login read the person's channel accounts (``channel_accounts.person_id``) by reading
the whole table — a full scan per login at the seed's hundred million accounts — and a license's
history, an admin login's session cleanup, and the deletes that cascade to payout events did the
same. tests/architecture/test_migrations.py now fails on a foreign key without an index that leads
with it (``people.merged_into_id`` is excused there, with its reason).

On PostgreSQL the indexes are built CONCURRENTLY: logins and showings go on while they are built.
"""
from alembic import op

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None

# (the name Tortoise gives the model's index, table, columns): domain/*/models.py
INDEXES = (
    ("idx_channel_acc_person__e8d3d4", "channel_accounts", ["person_id", "channel"]),
    ("idx_face_sessio_person__8cb054", "face_sessions", ["person_id"]),
    ("idx_refresh_tok_person__74e9e5", "refresh_tokens", ["person_id"]),
    ("idx_admin_sessi_account_9aecc2", "admin_sessions", ["account_id"]),
    ("idx_license_eve_license_7e70fc", "license_events", ["license_id", "at"]),
    ("idx_license_pre_license_578f5e", "license_presentations", ["license_id"]),
    ("idx_fund_payout_withdra_3bf0d3", "fund_payout_events", ["withdrawal_id"]),
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        with op.get_context().autocommit_block():
            for name, table, columns in INDEXES:
                op.create_index(name, table, columns, postgresql_concurrently=True)
    else:
        for name, table, columns in INDEXES:
            op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in INDEXES:
        op.drop_index(name, table_name=table)
