"""Tables owned by data sharing (docs/sharing.md)."""
from __future__ import annotations

from tortoise import fields, models


class DataService(models.Model):
    """One published version of a provider node's data service. A new publication of the same
    code is the next version; the newest active or retiring version is the one that serves."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharField(max_length=64)  # the provider node's code (X-Road member code)
    code = fields.CharField(max_length=64)
    version = fields.IntField()
    subsystem = fields.CharField(max_length=64)
    title = fields.CharField(max_length=200)
    description = fields.TextField()
    owner_department = fields.CharField(max_length=200)
    fields_spec = fields.JSONField()  # [{name, title, classification, source}]
    operations = fields.JSONField()  # [{method, path}]
    subject = fields.JSONField(null=True)  # {in, name}
    openapi = fields.JSONField()
    status = fields.CharField(max_length=16)  # active | retiring | retired
    retire_at = fields.DatetimeField(null=True)
    published_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "data_services"
        unique_together = (("provider", "code", "version"),)


class DataGrant(models.Model):
    """A consumer's request for a service and, once the provider decides, the grant itself."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    provider = fields.CharField(max_length=64)
    service_code = fields.CharField(max_length=64)
    consumer = fields.CharField(max_length=64)
    fields_requested = fields.JSONField()
    fields_granted = fields.JSONField(null=True)
    operations = fields.JSONField(null=True)  # None: every operation of the service
    purpose = fields.TextField()
    legal_basis = fields.TextField()
    expected_daily_calls = fields.IntField()
    quota_per_minute = fields.IntField(null=True)  # set when approved
    investigative = fields.BooleanField(default=False)  # uses withheld from the citizen for a while
    embargo_days = fields.IntField(default=0)
    status = fields.CharField(max_length=16, db_index=True)
    reason = fields.TextField(null=True)  # of a refusal, suspension or revocation
    valid_from = fields.DatetimeField(null=True)
    valid_until = fields.DatetimeField(null=True)
    requested_at = fields.DatetimeField()
    decided_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "data_grants"
        indexes = (("consumer", "provider", "service_code"),)


class ExchangeMessage(models.Model):
    """The message log (X-Road's): one record per call through the exchange or identity check.
    Bodies are kept only as SHA-256 digests. Hash-chained by ``seq``; stamped in batches."""

    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField(unique=True)
    kind = fields.CharField(max_length=24)  # exchange | identity_verification
    message_id = fields.CharField(max_length=128)  # X-Road-Id
    request_id = fields.CharField(max_length=64, unique=True)  # X-Road-Request-Id, the hub's
    client = fields.CharField(max_length=200)
    service = fields.CharField(max_length=300)
    grant_id = fields.CharField(max_length=32, null=True)
    consumer = fields.CharField(max_length=64)
    provider = fields.CharField(max_length=64)
    user_id = fields.CharField(max_length=128, null=True)  # X-Road-UserId: the official who asked
    issue = fields.CharField(max_length=200, null=True)  # X-Road-Issue: the case behind the call
    subject_hash = fields.CharField(max_length=64, null=True)  # keyed hash of the data subject's identifier
    method = fields.CharField(max_length=8)
    path = fields.TextField()
    fields_returned = fields.JSONField()
    request_in_at = fields.DatetimeField(db_index=True)  # the figures count calls by time (message_log)
    request_out_at = fields.DatetimeField(null=True)
    response_in_at = fields.DatetimeField(null=True)
    response_out_at = fields.DatetimeField()
    request_bytes = fields.IntField()
    response_bytes = fields.IntField()
    request_digest = fields.CharField(max_length=64)
    response_digest = fields.CharField(max_length=64)
    request_hash = fields.CharField(max_length=100)  # X-Road-Request-Hash as answered
    status = fields.SmallIntField()
    fault = fields.CharField(max_length=64, null=True)
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)
    stamp_id = fields.BigIntField(null=True, db_index=True)

    class Meta:
        table = "exchange_messages"


class MessageLogHead(models.Model):
    """The newest record's seq and hash (one row): appends lock it so the chain stays in order."""

    id = fields.IntField(primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "exchange_message_head"


class MessageLogStamp(models.Model):
    """An RFC 3161 token over the hash of the last record of a batch (which chains all before it)."""

    id = fields.BigIntField(primary_key=True)
    first_seq = fields.BigIntField()
    last_seq = fields.BigIntField()
    digest = fields.CharField(max_length=64)  # the last record's hash: the token's message imprint
    token = fields.BinaryField()
    stamped_at = fields.DatetimeField()

    class Meta:
        table = "exchange_message_stamps"


class DataUse(models.Model):
    """One use of a citizen's data, for their tracker (数据使用记录): an exchange call that named
    them, an identity verification, a license asked for."""

    id = fields.BigIntField(primary_key=True)
    # whose data: the keyed hash of their ID number (tracker.SUBJECT), so a use made before the
    # citizen ever logged in is theirs to see once they have real name
    subject_hash = fields.CharField(max_length=64)
    at = fields.DatetimeField()
    visible_from = fields.DatetimeField()  # later than ``at`` under an investigation's embargo
    kind = fields.CharField(max_length=24)  # exchange | identity_verification | license_exchange
    node = fields.CharField(max_length=64)  # the department that used the data
    node_name = fields.CharField(max_length=200)
    service = fields.CharField(max_length=200)
    service_title = fields.CharField(max_length=200)
    fields_used = fields.JSONField()
    purpose = fields.TextField()
    issue = fields.CharField(max_length=200, null=True)
    outcome = fields.CharField(max_length=24)
    request_id = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "data_uses"
        indexes = (("subject_hash", "visible_from"),)
