"""Tables of the shared mechanisms (the schema itself is owned by Alembic: migration 0019)."""
from __future__ import annotations

from tortoise import fields, models


class IdempotencyKey(models.Model):
    """A citizen's ``Idempotency-Key`` and the first result of the write it keyed, for every
    capability (``scope``): the same key and request answer that result again; the same key with
    another request is refused. Written in the transaction of the write it keys, so a crash leaves
    neither or both, and a concurrent copy waits on the unique row (domain/shared/idempotency.py)."""

    id = fields.BigIntField(primary_key=True)
    scope = fields.CharField(max_length=32)  # the capability: applications | housing_fund | bundles | notifications
    person_id = fields.CharField(max_length=32)
    key = fields.CharField(max_length=128)
    operation = fields.CharField(max_length=64)  # what was asked: submit, withdraw:<number>, ...
    request_hash = fields.CharField(max_length=64)
    result = fields.CharField(max_length=64, null=True)  # the first result's reference (a number, an id)
    created_at = fields.DatetimeField()

    class Meta:
        table = "idempotency_keys"
        unique_together = (("scope", "person_id", "key"),)
