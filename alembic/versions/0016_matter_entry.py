"""Each capability owns its entry points: ``matters.entry`` and ``applications.entry`` (issue #12)

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-27

``matters.entry`` says which capability submits a matter's applications: ``application`` (the plain
route, instant approval included), ``housing_fund`` (a withdrawal that passed its rules and its face
scan) or ``bundle`` (a bundle's step); every other entry refuses it. ``applications.entry`` records
which capability did submit an application, so only that one changes it later (resubmission).

Existing rows are filled in from what is already known: the fund centres' withdrawal matters
(catalog codes ``HF-*``, domain/housing_fund/rules.py) and the bundles' step matters (``BDL-*``);
applications from the withdrawals and bundle steps that name them. Everything else stays a plain
application. The server default is the least privileged entry: a row written without one can be
submitted by the plain route only.
"""
import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

FUND_CATALOG_CODES = ("HF-RENT", "HF-BUY", "HF-LOAN", "HF-RETIRE", "HF-LEAVE", "HF-ILLNESS")


def upgrade() -> None:
    for table in ("matters", "applications"):
        op.add_column(table, sa.Column("entry", sa.String(16), nullable=False, server_default="application"))
    codes = ", ".join(f"'{code}'" for code in FUND_CATALOG_CODES)
    op.execute(f"UPDATE matters SET entry = 'housing_fund' WHERE catalog_code IN ({codes})")
    op.execute("UPDATE matters SET entry = 'bundle' WHERE catalog_code LIKE 'BDL-%'")
    op.execute("UPDATE applications SET entry = 'housing_fund' WHERE number IN "
               "(SELECT application_number FROM fund_withdrawals WHERE application_number IS NOT NULL)")
    op.execute("UPDATE applications SET entry = 'bundle' WHERE number IN "
               "(SELECT application_number FROM bundle_steps WHERE application_number IS NOT NULL"
               " UNION SELECT compensation_number FROM bundle_steps WHERE compensation_number IS NOT NULL)")


def downgrade() -> None:
    for table in ("applications", "matters"):
        with op.batch_alter_table(table) as batch:  # SQLite drops a column by rebuilding the table
            batch.drop_column("entry")
