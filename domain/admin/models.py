"""Tables owned by admin: accounts of product teams and operators, their login sessions, and
wrong passwords counted per login name."""
from __future__ import annotations

from tortoise import fields, models


class AdminAccount(models.Model):
    """An account of the management console (管理账号): a product team member or an operator.

    ``roles`` is a list drawn from ``rules.ROLES``; the password is an argon2id hash.
    """

    id = fields.BigIntField(primary_key=True)
    username = fields.CharField(max_length=32, unique=True)
    display_name = fields.CharField(max_length=64)
    password_hash = fields.CharField(max_length=255)
    roles = fields.JSONField()
    status = fields.CharField(max_length=16, default="active")  # active | disabled
    last_login_at = fields.DatetimeField(null=True)
    password_changed_at = fields.DatetimeField()
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "admin_accounts"


class AdminSession(models.Model):
    """A console login: an opaque token, stored as its SHA-256, ending when idle or too old."""

    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    account = fields.ForeignKeyField("models.AdminAccount", related_name=False, on_delete=fields.CASCADE)
    created_at = fields.DatetimeField()
    last_seen_at = fields.DatetimeField()
    ip = fields.CharField(max_length=64, null=True)

    class Meta:
        table = "admin_sessions"
        indexes = (("account_id",),)  # a login ends the account's oldest sessions


class AdminLoginFailure(models.Model):
    """Wrong passwords in a row for one login name, kept whether or not an account has that name:
    an unknown name is answered and locked exactly like a real one, so no answer tells which
    names exist. The name is kept only as its SHA-256 (any text may be typed as a name)."""

    id = fields.BigIntField(primary_key=True)
    name_hash = fields.CharField(max_length=64, unique=True)
    failed_logins = fields.SmallIntField(default=0)
    locked_until = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "admin_login_failures"
