"""Tables of licenses (the schema itself is owned by Alembic).

``wallet_hash`` is the keyed hash (vault lookup hash, context ``license.holder``) of the ID number
of the citizen in whose wallet a license appears: the holder for a person's license, the legal
representative (or operator) for a legal person's. Nothing here holds personal data in clear.
"""
from __future__ import annotations

from tortoise import fields, models


class License(models.Model):
    """An electronic license (电子证照), sealed by the issuing department's seal at issuance."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    type_code = fields.CharField(max_length=48, db_index=True)
    number = fields.CharField(max_length=64)  # the issuer's license number (证照编号)
    issuer_node = fields.CharField(max_length=64, db_index=True)
    issuer_department = fields.CharField(max_length=64)
    seal_code = fields.CharField(max_length=64)
    holder_kind = fields.CharField(max_length=16)  # person | legal_person
    holder_hash = fields.CharField(max_length=64, db_index=True)
    wallet_hash = fields.CharField(max_length=64, db_index=True)
    data_sealed = fields.TextField()  # vault: canonical JSON of the data
    disclosures_sealed = fields.TextField()  # vault: the salted disclosures behind the document's digests
    document = fields.TextField()  # the license document (canonical JSON, digests only) exactly as sealed
    stamp = fields.JSONField()  # the seal's stamp over ``document`` (domain/seals)
    status = fields.CharField(max_length=16)  # valid | suspended | revoked | withdrawn | cancelled
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField(null=True)
    issued_at = fields.DatetimeField(db_index=True)  # the figures count issues by hour (migration 0027)
    status_changed_at = fields.DatetimeField()

    class Meta:
        table = "licenses"
        unique_together = (("type_code", "number"),)


class LicenseEvent(models.Model):
    """The history of a license: issuance and every status change, by whom and why."""

    id = fields.BigIntField(primary_key=True)
    license = fields.ForeignKeyField("models.License", related_name="events", on_delete=fields.RESTRICT)
    at = fields.DatetimeField()
    action = fields.CharField(max_length=16)  # issued | status
    status_from = fields.CharField(max_length=16, null=True)
    status_to = fields.CharField(max_length=16)
    reason = fields.CharField(max_length=200, null=True)
    actor = fields.CharField(max_length=64)

    class Meta:
        table = "license_events"
        indexes = (("license_id", "at"),)  # a license's history, in order


class LicensePresentation(models.Model):
    """One showing of a license (亮证): a 3-minute token with its own random status slot."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    license = fields.ForeignKeyField("models.License", related_name="presentations", on_delete=fields.RESTRICT)
    epoch = fields.IntField()
    slot = fields.IntField()
    fields_shown = fields.JSONField()
    # SHA-256 of the signed part of the token made for it: the id is good for that token only
    signed_digest = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(db_index=True)  # the figures count showings by hour (migration 0027)
    expires_at = fields.DatetimeField()
    verified_at = fields.DatetimeField(null=True)

    class Meta:
        table = "license_presentations"
        unique_together = (("epoch", "slot"),)
        indexes = (("license_id",),)


class LicenseConsent(models.Model):
    """A citizen's consent that a department may read a kind of license: once (per request) or
    standing until it expires or the citizen revokes it. A refused request leaves a ``requested``
    consent the citizen can grant."""

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    wallet_hash = fields.CharField(max_length=64, db_index=True)
    department = fields.CharField(max_length=64)  # the node code
    type_code = fields.CharField(max_length=48)
    purpose = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=16)  # once | standing
    status = fields.CharField(max_length=16)  # requested | granted | used | revoked
    created_at = fields.DatetimeField()
    granted_at = fields.DatetimeField(null=True)
    expires_at = fields.DatetimeField(null=True)
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    # the assurance of the citizen's session when they granted it: a consent covers the fields the
    # disclosure rule lets leave at that level (rules.withheld); None until granted
    granted_assurance = fields.IntField(null=True)

    class Meta:
        table = "license_consents"
        indexes = (("department", "type_code"),)


class LicenseAccess(models.Model):
    """The access log (用证记录): every read of a license — who, when, which, why — append-only and
    hash-chained (``hash`` = SHA-256 over ``prev_hash`` and the entry; domain/licenses/access_log.py)."""

    id = fields.BigIntField(primary_key=True)
    seq = fields.BigIntField(unique=True)
    at = fields.DatetimeField()
    wallet_hash = fields.CharField(max_length=64, db_index=True)
    license_id = fields.CharField(max_length=32)
    type_code = fields.CharField(max_length=48)
    actor_kind = fields.CharField(max_length=16)  # department | verifier | hub | holder
    actor = fields.CharField(max_length=64)
    action = fields.CharField(max_length=32)
    purpose = fields.CharField(max_length=200)
    outcome = fields.CharField(max_length=16)  # released | refused | shown
    prev_hash = fields.CharField(max_length=64)
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "license_access_log"


class LicenseAccessHead(models.Model):
    """The chain's head, one row: appends lock it so that entries chain one after another."""

    id = fields.IntField(primary_key=True)
    seq = fields.BigIntField()
    hash = fields.CharField(max_length=64)

    class Meta:
        table = "license_access_head"


class LicenseGuardian(models.Model):
    """A guardian of a child, as an authoritative license names them (domain/licenses/guardianship.py):
    a parent on a birth medical certificate (出生医学证明, ``basis``), or a guardian named in the child's
    own license. ``minor_hash`` is the child's holder hash once a license of the child's own links the
    certificate to their ID number; the guardian's wallet shows the child's licenses until ``adult_at``."""

    id = fields.BigIntField(primary_key=True)
    basis = fields.ForeignKeyField("models.License", related_name="guardians", on_delete=fields.RESTRICT)
    child_key = fields.CharField(max_length=64, db_index=True)  # lookup hash of name|birth date|sex
    guardian_hash = fields.CharField(max_length=64, db_index=True)
    role = fields.CharField(max_length=16)  # mother | father | guardian
    minor_hash = fields.CharField(max_length=64, null=True, db_index=True)
    adult_at = fields.DatetimeField()  # the 18th birthday, 00:00 Beijing time
    created_at = fields.DatetimeField()

    class Meta:
        table = "license_guardians"
        unique_together = (("basis", "guardian_hash"),)
