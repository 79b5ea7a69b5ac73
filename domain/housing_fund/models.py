"""Tables of housing_fund (the schema itself is owned by Alembic: migration 0011)."""
from __future__ import annotations

from tortoise import fields, models


class Withdrawal(models.Model):
    """A housing provident fund withdrawal (住房公积金提取): one amount, from one account, to one
    bank card of the citizen's own, authorised by one face scan bound to it.

    Created with every detail before the face scan (so the scan authorises exactly this), then
    submitted as an application (办件) to the fund centre; ``payout_id`` names the one payout
    instruction the centre carries out. ``status`` is the payout's: awaiting_face, requested, paid,
    failed, returned — paid, failed and returned never change again. The card number is sealed."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    person_id = fields.CharField(max_length=32)  # Person.public_id (the token subject)
    channel = fields.CharField(max_length=16)
    kind = fields.CharField(max_length=16)
    centre_code = fields.CharField(max_length=64)  # the centre's node (its department code)
    account_no = fields.CharField(max_length=32)
    amount_fen = fields.BigIntField()
    card_sealed = fields.TextField()
    card_masked = fields.CharField(max_length=32)
    bank_name = fields.CharField(max_length=64, null=True)
    details = fields.JSONField()  # what the citizen gave the rules (dates, figures, materials)
    checks = fields.JSONField()  # the rules as judged, shown rule by rule
    rule_clear = fields.BooleanField(default=False)
    period_key = fields.CharField(max_length=48)  # the per-period quota this withdrawal counts in
    status = fields.CharField(max_length=16)
    face_session_id = fields.CharField(max_length=32, null=True)
    payout_id = fields.CharField(max_length=32, null=True, unique=True)
    application_number = fields.CharField(max_length=32, null=True)
    payout_reason = fields.TextField(null=True)
    bank_reference = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    submitted_at = fields.DatetimeField(null=True)
    settled_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "fund_withdrawals"
        indexes = (("person_id", "id"),)


class Quota(models.Model):
    """What an account has used of one limit: a kind's period (``renting:2026-11``) or the balance
    in flight (``in_flight``). Withdrawals reserve here with one conditional UPDATE, so two at once
    cannot both pass one limit, on either backend."""

    id = fields.BigIntField(primary_key=True)
    account_key = fields.CharField(max_length=100)  # <centre code>:<account no>
    period_key = fields.CharField(max_length=48)
    used_fen = fields.BigIntField(default=0)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "fund_quotas"
        unique_together = (("account_key", "period_key"),)


class PayoutEvent(models.Model):
    """One event a centre posted about a payout (paid, failed, returned), kept with its first answer."""

    id = fields.BigIntField(primary_key=True)
    withdrawal = fields.ForeignKeyField("models.Withdrawal", related_name=False, on_delete=fields.CASCADE)
    node_code = fields.CharField(max_length=64)
    event_id = fields.CharField(max_length=64)
    type = fields.CharField(max_length=16)
    occurred_at = fields.DatetimeField()
    reason = fields.TextField(null=True)
    bank_reference = fields.CharField(max_length=64, null=True)
    body_hash = fields.CharField(max_length=64)
    outcome = fields.CharField(max_length=16)  # applied | stale
    answer = fields.JSONField()
    received_at = fields.DatetimeField()

    class Meta:
        table = "fund_payout_events"
        unique_together = (("node_code", "event_id"),)
        indexes = (("withdrawal_id",),)
