"""Tables owned by health codes (docs/health-codes.md)."""
from __future__ import annotations

from tortoise import fields, models


class FeedHead(models.Model):
    """The newest ``seq`` of one of the three signed lists (trust list, rules, revocations). Taken
    under a row lock and raised in the transaction of the change, so a change committed later
    never carries a smaller seq than one a verifier has already been given."""

    name = fields.CharField(max_length=32, primary_key=True)
    seq = fields.BigIntField(default=0)
    changed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "health_feed_heads"


class IssuerKey(models.Model):
    """A region's health-code signing key (健康码签发密钥), with its X.509 certificate. ``delegated``:
    the region let the hub hold the private key (sealed) and sign for it; otherwise the region signs
    each code itself (domain/health/ports.RegionSigner)."""

    id = fields.BigIntField(primary_key=True)
    kid = fields.CharField(max_length=16, unique=True)  # hex of hcert's 8-byte kid
    region = fields.CharField(max_length=6, db_index=True)
    node_code = fields.CharField(max_length=64)
    alg = fields.CharField(max_length=16)
    certificate = fields.TextField()  # base64 DER
    credential_types = fields.JSONField()
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    delegated = fields.BooleanField(default=False)
    private_key_sealed = fields.TextField(null=True)
    status = fields.CharField(max_length=16, default="active")  # active | revoked
    revoked_at = fields.DatetimeField(null=True)
    seq = fields.BigIntField(db_index=True)
    changed_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "health_issuer_keys"


class HealthRecord(models.Model):
    """One pooled health record (健康信息): a test, a vaccination or a trip pushed by a region, or a
    citizen's own declaration. Keyed by a keyed hash of the person's ID number; what it says is sealed."""

    id = fields.BigIntField(primary_key=True)
    subject_hash = fields.CharField(max_length=64, db_index=True)
    kind = fields.CharField(max_length=16)  # test | vaccination | travel | declaration
    source = fields.CharField(max_length=64)  # the pushing node's code, or "citizen"
    source_record_id = fields.CharField(max_length=64)  # the source's own id: a push is idempotent
    region = fields.CharField(max_length=6)  # where it was made
    occurred_at = fields.DatetimeField()
    content_sealed = fields.TextField()
    received_at = fields.DatetimeField()

    class Meta:
        table = "health_records"
        unique_together = (("source", "source_record_id"),)


class HealthCode(models.Model):
    """A health code (健康码) a region issued to a person. One current code per person and region:
    ``current_key`` is "<person>:<region>" while current and null once superseded, under a unique index."""

    id = fields.BigIntField(primary_key=True)
    credential_id = fields.CharField(max_length=64, unique=True)
    credential_hash = fields.CharField(max_length=32, db_index=True)
    person_id = fields.CharField(max_length=40, db_index=True)
    subject_hash = fields.CharField(max_length=64, db_index=True)  # as records: a region's news finds the codes
    region = fields.CharField(max_length=6)
    current_key = fields.CharField(max_length=64, null=True, unique=True)
    colour = fields.CharField(max_length=8)
    reasons = fields.JSONField()
    kid = fields.CharField(max_length=16)
    credential = fields.TextField()  # the HC1 text: a masked name, a colour, no ID number
    issued_at = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "health_codes"


class HealthRule(models.Model):
    """One version of a region's rule (健康码规则), in CertLogic."""

    id = fields.BigIntField(primary_key=True)
    identifier = fields.CharField(max_length=64)
    version = fields.IntField()
    region = fields.CharField(max_length=6, db_index=True)
    type = fields.CharField(max_length=16)  # acceptance | colour-mapping | colour
    certificate_type = fields.CharField(max_length=32)
    logic = fields.JSONField()
    description = fields.JSONField()
    affected_fields = fields.JSONField()
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    published_at = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="active")  # active | withdrawn
    seq = fields.BigIntField(db_index=True)
    changed_at = fields.DatetimeField()

    class Meta:
        table = "health_rules"
        unique_together = (("identifier", "version"),)


class RevocationBatch(models.Model):
    """Hashed credential ids a region revoked at once (撤销批次)."""

    id = fields.BigIntField(primary_key=True)
    batch_id = fields.CharField(max_length=32, unique=True)
    region = fields.CharField(max_length=6)
    hashes = fields.JSONField()
    expires = fields.DatetimeField()
    deleted = fields.BooleanField(default=False)
    created_at = fields.DatetimeField()
    seq = fields.BigIntField(db_index=True)
    changed_at = fields.DatetimeField()

    class Meta:
        table = "health_revocation_batches"
