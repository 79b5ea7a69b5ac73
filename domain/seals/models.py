"""Tables of seals (the schema itself is owned by Alembic)."""
from __future__ import annotations

from tortoise import fields, models


class Seal(models.Model):
    """A department's electronic seal (电子印章): its key pair, validity and status, and what it is
    bound to — the department it belongs to and the license types it may sign.

    The private key is sealed with the vault and opened only inside ``SealService``. ``version``
    is the trust-list version at which this row last changed: verifiers fetch the changes after
    the version they hold (delta updates).
    """

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    department_code = fields.CharField(max_length=64, db_index=True)
    department_kind = fields.CharField(max_length=48)
    node_code = fields.CharField(max_length=64, db_index=True)  # the machine identity that may use it
    # the license types it may sign (the trust list publishes them; verifiers refuse the others)
    license_types = fields.JSONField(default=list)
    name = fields.CharField(max_length=128)
    algorithm = fields.CharField(max_length=16)  # SM2-SM3 | ES256
    key_id = fields.CharField(max_length=16, unique=True)
    public_key = fields.TextField()  # PEM SubjectPublicKeyInfo
    private_key_sealed = fields.TextField()
    valid_from = fields.DatetimeField()
    valid_until = fields.DatetimeField()
    status = fields.CharField(max_length=16, default="active")  # active | revoked
    revoked_at = fields.DatetimeField(null=True)
    version = fields.BigIntField(db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "seals"
