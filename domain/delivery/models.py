"""Tables of delivery (the schema itself is owned by Alembic): the outbox and its attempt log."""
from __future__ import annotations

from tortoise import fields, models


class Delivery(models.Model):
    """One effect the hub owes the outside world (投递): an application handed to a department or
    province, a message to a citizen. Written in the same transaction as the change that causes
    it; the relay sends it until the receiver says yes, or parks it for an operator.

    The payload is citizens' data (a form, a name): it is stored sealed with the vault
    (``payload_sealed``, bound to the dedupe key) and opened only to send it. ``payload`` holds
    the clear payload of rows written before migration 0014 only.

    ``claimed_by``/``claimed_until`` are a relay's lease on the row while it sends: a relay that
    dies leaves a lease that simply runs out, and another relay takes the row over.
    """

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64, db_index=True)
    target = fields.CharField(max_length=64, db_index=True)
    payload = fields.JSONField(null=True)
    payload_sealed = fields.TextField(null=True)
    dedupe_key = fields.CharField(max_length=200, unique=True)
    status = fields.CharField(max_length=16, default="pending")  # pending | delivered | parked
    attempts = fields.IntField(default=0)
    next_attempt_at = fields.DatetimeField()
    # deliveries of one key are sent in the order of their position (docs/delivery.md, "Order"):
    # a citizen's messages about one application, in the order of its status changes
    ordering_key = fields.CharField(max_length=100, null=True)
    ordering_position = fields.BigIntField(null=True)
    claimed_by = fields.CharField(max_length=64, null=True)
    claimed_until = fields.DatetimeField(null=True)
    last_error = fields.CharField(max_length=500, null=True)
    last_status_code = fields.IntField(null=True)
    parked_reason = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(db_index=True)
    updated_at = fields.DatetimeField()
    delivered_at = fields.DatetimeField(null=True)
    parked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "deliveries"
        # the relay's question: what is pending and due?
        indexes = (("status", "next_attempt_at"), ("ordering_key", "status"))


class DeliveryAttempt(models.Model):
    """One try at sending a delivery: when, by which relay, how long, and what came back."""

    id = fields.BigIntField(primary_key=True)
    delivery = fields.ForeignKeyField("models.Delivery", related_name="attempt_log", on_delete=fields.CASCADE)
    number = fields.IntField()
    relay = fields.CharField(max_length=64)
    started_at = fields.DatetimeField()
    duration_ms = fields.IntField()
    outcome = fields.CharField(max_length=16)  # delivered | retry | rejected | no_sender
    status_code = fields.IntField(null=True)
    error = fields.CharField(max_length=500, null=True)
    response_excerpt = fields.CharField(max_length=1000, null=True)

    class Meta:
        table = "delivery_attempts"
        indexes = (("delivery_id", "number"),)  # a delivery's attempts, in order


class DeliverySummary(models.Model):
    """The daily alert summary of the outbox (what is parked, what is stuck), as the alert job
    took it; operators read the latest at ``/admin/v1/deliveries/summary``."""

    id = fields.BigIntField(primary_key=True)
    taken_at = fields.DatetimeField(db_index=True)
    summary = fields.JSONField()

    class Meta:
        table = "delivery_summaries"
