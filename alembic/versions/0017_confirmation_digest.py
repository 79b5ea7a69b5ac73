"""Confirmations bind what was confirmed; admin login failures counted per name

- ``bundle_runs.confirmation_digest``: the keyed digest of the facts and parties the other party
  confirmed (domain/bundles/confirmations.py). Runs confirmed before it have none: their
  confirmation holds nothing, and the other party is asked again before a step that needs it.
- ``admin_login_failures``: wrong passwords in a row per login name, whether or not an account
  has that name, so an unknown name locks exactly like a real one (domain/admin/sessions.py). The
  counters move there from ``admin_accounts`` (a lock in progress is carried over).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-28
"""
import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets BIGSERIAL.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("bundle_runs", sa.Column("confirmation_digest", sa.String(64), nullable=True))
    # The constraint name is the one Tortoise gives the model (domain/admin/models.py).
    op.create_table(
        "admin_login_failures",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("name_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("failed_logins", sa.SmallInteger(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sqlite_autoincrement=True,
    )
    accounts = op.get_bind().execute(sa.text(
        "SELECT username, failed_logins, locked_until, updated_at FROM admin_accounts "
        "WHERE failed_logins > 0 OR locked_until IS NOT NULL")).all()
    if accounts:  # values as read (SQLite keeps timestamps as text): no type conversion on the way back
        op.get_bind().execute(sa.text(
            "INSERT INTO admin_login_failures (name_hash, failed_logins, locked_until, updated_at) "
            "VALUES (:name_hash, :failed_logins, :locked_until, :updated_at)"), [
            {"name_hash": hashlib.sha256(row.username.encode()).hexdigest(), "failed_logins": row.failed_logins,
             "locked_until": row.locked_until, "updated_at": row.updated_at} for row in accounts])
    op.drop_column("admin_accounts", "failed_logins")  # SQLite >= 3.35 drops a column in place
    op.drop_column("admin_accounts", "locked_until")


def downgrade() -> None:
    op.add_column("admin_accounts", sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("admin_accounts", sa.Column("failed_logins", sa.SmallInteger(), nullable=False,
                                              server_default="0"))
    op.drop_table("admin_login_failures")
    op.drop_column("bundle_runs", "confirmation_digest")
