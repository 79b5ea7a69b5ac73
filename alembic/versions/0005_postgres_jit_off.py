"""PostgreSQL: no JIT for this database

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

The hub's queries are short OLTP lookups. On a search over millions of matters the planner's cost
estimate passes jit_above_cost and PostgreSQL spends ~100 ms compiling a query that then runs in
tens of milliseconds (docs/benchmarks.md). A database-level setting: it applies to every new
connection, whoever opens it.
"""
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET jit = off', current_database()); END $$")


def downgrade() -> None:
    if op.get_context().dialect.name == "postgresql":
        op.execute("DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET jit', current_database()); END $$")
