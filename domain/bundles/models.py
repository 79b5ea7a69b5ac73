"""Tables of bundles (the schema itself is owned by Alembic: migration 0012)."""
from __future__ import annotations

from tortoise import fields, models


class Bundle(models.Model):
    """A one-thing bundle (一件事): several matters of several departments applied for with one
    form, declared as data (``draft``) by product teams and run as ``published`` once validated.
    A run keeps a copy of the declaration it started with, so publishing a change never alters
    bundles already under way."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    name = fields.CharField(max_length=200)
    status = fields.CharField(max_length=16)  # draft | published | retired
    draft = fields.JSONField()  # the declaration being edited
    published = fields.JSONField(null=True)  # the declaration citizens run (validated)
    version = fields.IntField(default=1)  # moves on with every change of the draft
    published_version = fields.IntField(null=True)
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    published_at = fields.DatetimeField(null=True)

    class Meta:
        table = "bundles"


class BundleRun(models.Model):
    """One citizen's bundle: the one form (sealed), the declaration it runs, its status, and what
    the runner needs to advance it safely (a lease, a wake-up flag, the deadline)."""

    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)  # B<region6>-<yyyymmdd>-<random>
    person_id = fields.CharField(max_length=32)
    bundle_code = fields.CharField(max_length=64)
    bundle_version = fields.IntField()
    bundle_name = fields.CharField(max_length=200)
    definition = fields.JSONField()
    channel = fields.CharField(max_length=16)
    status = fields.CharField(max_length=24)  # running | waiting_confirmation | failed | completed
    form_sealed = fields.TextField()
    chosen_optional = fields.JSONField()  # the optional steps the citizen asked for
    confirmer_hash = fields.CharField(max_length=64, null=True)  # keyed hash of the second party's ID number
    confirmation = fields.CharField(max_length=16, null=True)  # null | confirmed | declined
    confirmed_at = fields.DatetimeField(null=True)
    confirmer_id = fields.CharField(max_length=32, null=True)
    # keyed digest of the facts and parties confirmed (confirmation_rules.statement): a step that
    # needs the confirmation is submitted only while the form still gives the same digest
    confirmation_digest = fields.CharField(max_length=64, null=True)
    needs_advance = fields.BooleanField(default=True)
    lease_until = fields.DatetimeField(null=True)
    deadline_at = fields.DatetimeField()
    stuck_at = fields.DatetimeField(null=True)  # flagged for operators past the deadline
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()
    completed_at = fields.DatetimeField(null=True)
    version = fields.IntField(default=1)

    class Meta:
        table = "bundle_runs"
        indexes = (("person_id", "id"), ("status", "needs_advance"), ("status", "deadline_at"),
                   ("confirmer_hash",))


class BundleStep(models.Model):
    """One step of a run: its matter's application (one per attempt; a retry makes a new one only
    for a step that did not succeed), its outputs, why it failed and what was compensated."""

    id = fields.BigIntField(primary_key=True)
    run = fields.ForeignKeyField("models.BundleRun", related_name="steps", on_delete=fields.CASCADE)
    key = fields.CharField(max_length=64)
    # pending | waiting_confirmation | in_progress | done | failed | blocked | skipped | compensated
    status = fields.CharField(max_length=24)
    attempt = fields.IntField(default=1)
    application_number = fields.CharField(max_length=32, null=True, db_index=True)
    application_status = fields.CharField(max_length=24, null=True)
    outputs = fields.JSONField()
    failure = fields.JSONField(null=True)  # {"code", "reason", "advice"}
    last_error = fields.TextField(null=True)  # a passing problem (a department unreachable): retried
    compensation_number = fields.CharField(max_length=32, null=True)
    history = fields.JSONField()  # earlier attempts: [{"attempt", "number", "status", "failure"}]
    submitted_at = fields.DatetimeField(null=True)
    finished_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "bundle_steps"
        unique_together = (("run_id", "key"),)


class BundleEvent(models.Model):
    """The run's timeline, as the citizen and operators read it."""

    id = fields.BigIntField(primary_key=True)
    run = fields.ForeignKeyField("models.BundleRun", related_name="events", on_delete=fields.CASCADE)
    step_key = fields.CharField(max_length=64, null=True)
    at = fields.DatetimeField()
    kind = fields.CharField(max_length=32)
    message = fields.TextField()

    class Meta:
        table = "bundle_events"
        indexes = (("run_id", "id"),)
