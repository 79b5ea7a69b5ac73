"""An index on expires_at where housekeeping deletes the expired

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07

The hourly identity housekeeping (``domain/identity/housekeeping.py``) deletes SMS challenges,
face sessions and refresh tokens past their expiry. With no index on ``expires_at`` each run read
the whole of each table — refresh tokens grow with every login and every rotation, hundreds of
millions of rows at the seed's scale — and deleted everything in one statement. Now it finds the
expired through these indexes, a bounded number a statement (``domain/shared/purge.py``).

On PostgreSQL the indexes are built CONCURRENTLY: logins and refreshes go on while they are built.
"""
from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

# (the name Tortoise gives the model's index, table, columns): domain/identity/models.py
INDEXES = (
    ("idx_sms_challen_expires_8429ca", "sms_challenges", ["expires_at"]),
    ("idx_face_sessio_expires_42380f", "face_sessions", ["expires_at"]),
    ("idx_refresh_tok_expires_310999", "refresh_tokens", ["expires_at"]),
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
