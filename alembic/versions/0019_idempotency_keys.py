"""One Idempotency-Key mechanism: ``idempotency_keys`` for every capability (issue #13)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-05

The keys were kept four ways: applications in ``application_idempotency``, fund withdrawals in
``fund_withdrawals.submit_key``, bundles in ``bundle_runs.idempotency_key`` + ``request_hash``,
notifications' consent reports in ``notification_consent_reports``.
They move to one table, scoped by capability, with the reference of the first result:

- applications: every row as it was (operation, request hash, application number);
- housing_fund: a submitted withdrawal's key, operation ``submit``, its request the withdrawal
  (the fingerprint of ``{"withdrawal_id": <public id>}``, as domain/housing_fund/service.py makes
  it), its result the withdrawal's public id;
- bundles: a run's key and request hash, its result the run's number;
- notifications: a consent report's key and hash, operation ``grant``, result ``counted``.

So a key sent again after the upgrade answers as it did before. The old table and columns go.
"""
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _withdrawal_request_hash(public_id: str) -> str:
    # frozen copy of domain.shared.idempotency.fingerprint: a migration never imports the domain
    text = json.dumps({"withdrawal_id": public_id}, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def upgrade() -> None:
    op.create_table(
        "idempotency_keys",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("scope", sa.String(32), nullable=False),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("result", sa.String(64)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("scope", "person_id", "key", name="uid_idempotency_scope_139bbe"),
        sqlite_autoincrement=True,
    )
    op.execute("INSERT INTO idempotency_keys (scope, person_id, key, operation, request_hash, result, created_at) "
               "SELECT 'applications', person_id, key, operation, request_hash, application_number, created_at "
               "FROM application_idempotency")
    op.execute("INSERT INTO idempotency_keys (scope, person_id, key, operation, request_hash, result, created_at) "
               "SELECT 'bundles', person_id, idempotency_key, 'submit', request_hash, number, created_at "
               "FROM bundle_runs")
    op.execute("INSERT INTO idempotency_keys (scope, person_id, key, operation, request_hash, result, created_at) "
               "SELECT 'notifications', person_id, key, 'grant', request_hash, 'counted', created_at "
               "FROM notification_consent_reports")
    op.execute("INSERT INTO idempotency_keys (scope, person_id, key, operation, request_hash, result, created_at) "
               "SELECT 'housing_fund', person_id, submit_key, 'submit', '', public_id, "
               "COALESCE(submitted_at, updated_at) FROM fund_withdrawals WHERE submit_key IS NOT NULL")
    bind = op.get_bind()
    submitted = bind.execute(sa.text("SELECT result FROM idempotency_keys WHERE scope = 'housing_fund'")).fetchall()
    for (public_id,) in submitted:
        bind.execute(sa.text("UPDATE idempotency_keys SET request_hash = :hash "
                             "WHERE scope = 'housing_fund' AND result = :public_id"),
                     {"hash": _withdrawal_request_hash(public_id), "public_id": public_id})
    op.drop_table("application_idempotency")
    op.drop_table("notification_consent_reports")
    with op.batch_alter_table("fund_withdrawals") as batch:  # SQLite drops a column by rebuilding the table
        batch.drop_constraint("uid_fund_withdr_person__3b4a9e", type_="unique")
        batch.drop_column("submit_key")
    with op.batch_alter_table("bundle_runs") as batch:
        batch.drop_constraint("uid_bundle_runs_person__b7db0a", type_="unique")
        batch.drop_column("idempotency_key")
        batch.drop_column("request_hash")


def downgrade() -> None:
    with op.batch_alter_table("bundle_runs") as batch:
        batch.add_column(sa.Column("idempotency_key", sa.String(128), nullable=False, server_default=""))
        batch.add_column(sa.Column("request_hash", sa.String(64), nullable=False, server_default=""))
    op.execute("UPDATE bundle_runs SET idempotency_key = COALESCE((SELECT k.key FROM idempotency_keys k "
               "WHERE k.scope = 'bundles' AND k.result = bundle_runs.number), number), "
               "request_hash = COALESCE((SELECT k.request_hash FROM idempotency_keys k "
               "WHERE k.scope = 'bundles' AND k.result = bundle_runs.number), '')")
    with op.batch_alter_table("bundle_runs") as batch:
        batch.create_unique_constraint("uid_bundle_runs_person__b7db0a", ["person_id", "idempotency_key"])
    with op.batch_alter_table("fund_withdrawals") as batch:
        batch.add_column(sa.Column("submit_key", sa.String(128)))
    op.execute("UPDATE fund_withdrawals SET submit_key = (SELECT k.key FROM idempotency_keys k "
               "WHERE k.scope = 'housing_fund' AND k.result = fund_withdrawals.public_id)")
    with op.batch_alter_table("fund_withdrawals") as batch:
        batch.create_unique_constraint("uid_fund_withdr_person__3b4a9e", ["person_id", "submit_key"])
    op.create_table(
        "application_idempotency",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("operation", sa.String(64), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("application_number", sa.String(32)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "key", name="uid_application_person__8bc2fa"),
        sqlite_autoincrement=True,
    )
    op.execute("INSERT INTO application_idempotency (person_id, key, operation, request_hash, application_number, "
               "created_at) SELECT person_id, key, operation, request_hash, result, created_at "
               "FROM idempotency_keys WHERE scope = 'applications'")
    op.create_table(
        "notification_consent_reports",
        sa.Column("id", BIGID, primary_key=True, autoincrement=True),
        sa.Column("person_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(128), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("person_id", "key", name="uid_notificatio_person__eb1a0e"),
        sqlite_autoincrement=True,
    )
    op.execute("INSERT INTO notification_consent_reports (person_id, key, request_hash, created_at) "
               "SELECT person_id, key, request_hash, created_at FROM idempotency_keys WHERE scope = 'notifications'")
    op.drop_table("idempotency_keys")
