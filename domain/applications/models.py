"""Tables of applications (the schema itself is owned by Alembic: migration 0007)."""
from __future__ import annotations

from tortoise import fields, models


class Application(models.Model):
    """An application (办件): one citizen's request for one matter, from submission to completion.

    ``number`` is the human-readable number shown to the citizen and the department
    (``<region6>-<yyyymmdd>-<seq6>``); it is given once and never changes or is reused. The matter's
    name, department and region are a snapshot taken at submission: the catalog may change later.
    The form is personal data, sealed with the vault. ``version`` moves on with every change
    (optimistic concurrency next to the row lock). ``entry`` is the capability that submitted it
    (plain route, housing fund, bundle): only that one changes it later."""

    id = fields.BigIntField(primary_key=True)
    number = fields.CharField(max_length=32, unique=True)
    person_id = fields.CharField(max_length=32)  # Person.public_id (the token subject)
    matter_code = fields.CharField(max_length=64)
    matter_name = fields.CharField(max_length=200)
    department_code = fields.CharField(max_length=64)
    region_code = fields.CharField(max_length=12)
    node_code = fields.CharField(max_length=64)  # the department or provincial node that handles it
    channel = fields.CharField(max_length=16)  # wechat | alipay | app: where the citizen applied
    entry = fields.CharField(max_length=16, default="application")  # the capability that submitted it (rules.ENTRIES)
    status = fields.CharField(max_length=24)
    form_sealed = fields.TextField()
    promised_limit_days = fields.SmallIntField()
    due_on = fields.DateField(null=True)  # the last working day of the promised limit
    calendar_basis = fields.CharField(max_length=16, null=True)  # official | weekends_only
    overdue = fields.BooleanField(default=False)
    department_reference = fields.CharField(max_length=64, null=True)
    decision = fields.JSONField(null=True)  # an automatic decision (秒批): its checks and results
    submitted_at = fields.DatetimeField(db_index=True)  # the figures count submissions by hour (migration 0027)
    accepted_at = fields.DatetimeField(null=True)
    correction_requested_at = fields.DatetimeField(null=True)
    resubmitted_at = fields.DatetimeField(null=True)
    decided_at = fields.DatetimeField(null=True)
    closed_at = fields.DatetimeField(null=True, db_index=True)  # ... and completions
    version = fields.IntField(default=1)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "applications"
        indexes = (("person_id", "id"), ("status", "due_on"))


class Transition(models.Model):
    """One recorded change of an application's status: which, when, by whom, why."""

    id = fields.BigIntField(primary_key=True)
    application = fields.ForeignKeyField("models.Application", related_name="transitions",
                                         on_delete=fields.CASCADE)
    name = fields.CharField(max_length=32)  # the named transition (submit, accept, ...)
    from_status = fields.CharField(max_length=24, null=True)
    to_status = fields.CharField(max_length=24)
    at = fields.DatetimeField()
    actor_kind = fields.CharField(max_length=16)  # citizen | node | system
    actor_id = fields.CharField(max_length=64)
    reason = fields.TextField(null=True)
    event_id = fields.CharField(max_length=64, null=True)  # the node's event that caused it

    class Meta:
        table = "application_transitions"
        # by application; and by name and time: the figures count instant approvals by hour
        indexes = (("application_id", "id"), ("name", "at"))


class NodeEvent(models.Model):
    """An event a node posted about an application, kept whether it applied or not: replays of
    its ``event_id`` answer the first result; events ahead of their predecessors wait here."""

    id = fields.BigIntField(primary_key=True)
    node_code = fields.CharField(max_length=64)
    event_id = fields.CharField(max_length=64)
    application = fields.ForeignKeyField("models.Application", related_name=False, on_delete=fields.CASCADE)
    type = fields.CharField(max_length=32)
    occurred_at = fields.DatetimeField()
    reason = fields.TextField(null=True)
    department_reference = fields.CharField(max_length=64, null=True)
    body_hash = fields.CharField(max_length=64)
    outcome = fields.CharField(max_length=16)  # applied | waiting | stale
    answer = fields.JSONField()  # the first answer, returned again on a replay
    received_at = fields.DatetimeField()

    class Meta:
        table = "application_node_events"
        unique_together = (("node_code", "event_id"),)
        indexes = (("application_id", "outcome"),)


class Material(models.Model):
    """A material of an application: an uploaded file (kept by the storage port) or a reference
    to an e-license in the citizen's wallet. Uploads exist before the application that uses them."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    person_id = fields.CharField(max_length=32, db_index=True)
    application = fields.ForeignKeyField("models.Application", related_name="materials", null=True,
                                         on_delete=fields.CASCADE)
    slot = fields.CharField(max_length=200, null=True)  # the matter's material name it satisfies
    kind = fields.CharField(max_length=16)  # upload | license
    storage_key = fields.CharField(max_length=200, null=True)
    filename = fields.CharField(max_length=200, null=True)
    content_type = fields.CharField(max_length=64, null=True)
    size = fields.BigIntField(null=True)
    sha256 = fields.CharField(max_length=64, null=True)
    license_id = fields.CharField(max_length=128, null=True)
    license_type = fields.CharField(max_length=32, null=True)
    created_at = fields.DatetimeField()
    attached_at = fields.DatetimeField(null=True)

    class Meta:
        table = "application_materials"
        indexes = (("application_id", "slot"),)


class NumberSequence(models.Model):
    """The last sequence number given to applications of one region on one day (Beijing time)."""

    id = fields.BigIntField(primary_key=True)
    region6 = fields.CharField(max_length=6)
    day = fields.CharField(max_length=8)  # yyyymmdd
    last_value = fields.IntField()

    class Meta:
        table = "application_number_sequences"
        unique_together = (("region6", "day"),)
