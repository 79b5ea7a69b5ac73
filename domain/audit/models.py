"""Tables owned by audit: one row per change made through /admin/v1 (or the CLI and seed)."""
from __future__ import annotations

from tortoise import fields, models


class AuditEntry(models.Model):
    """A change (审计日志): who made it, when, to what, and the record before and after.

    ``actor_id`` is deliberately not a foreign key: the trail must outlive whatever it names,
    and the username is copied so an entry reads on its own.
    """

    id = fields.BigIntField(primary_key=True)
    at = fields.DatetimeField(db_index=True)
    actor_id = fields.BigIntField(null=True)
    actor_username = fields.CharField(max_length=64, db_index=True)
    action = fields.CharField(max_length=64)
    target_type = fields.CharField(max_length=32)
    target_id = fields.CharField(max_length=128)
    before = fields.JSONField(null=True)
    after = fields.JSONField(null=True)
    request_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "audit_log"
        indexes = (("target_type", "target_id"),)
