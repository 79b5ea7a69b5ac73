"""Tables owned by identity: people, their channel accounts, login challenges, tokens, keys."""
from __future__ import annotations

from tortoise import fields, models


class Person(models.Model):
    """A citizen (自然人). One person however many channels they log in from.

    ``public_id`` is the token subject: stable, random, never the ID number. Personal data is
    sealed by ``domain.shared.vault`` and found by keyed hash. A person created by one channel and
    later found to be somebody already known is merged: ``merged_into`` points at the survivor,
    ``merged_at`` says when. The three times are indexed for the platform's figures, which count
    the people registered and verified by changes since the last day (migration 0028).
    """

    id = fields.BigIntField(primary_key=True)
    public_id = fields.CharField(max_length=32, unique=True)
    name_sealed = fields.TextField(null=True)
    id_number_sealed = fields.TextField(null=True)
    id_number_hash = fields.CharField(max_length=64, unique=True, null=True)
    id_number_masked = fields.CharField(max_length=18, null=True)
    phone_sealed = fields.TextField(null=True)
    phone_hash = fields.CharField(max_length=64, null=True, db_index=True)
    assurance = fields.SmallIntField(default=1)
    real_name_verified_at = fields.DatetimeField(null=True, db_index=True)
    face_verified_at = fields.DatetimeField(null=True)
    merged_into = fields.ForeignKeyField(
        "models.Person", null=True, related_name=False, on_delete=fields.RESTRICT
    )
    merged_at = fields.DatetimeField(null=True, db_index=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "people"


class ChannelAccount(models.Model):
    """An account on one channel: a WeChat openid, an Alipay user_id, or an app phone (by hash)."""

    id = fields.BigIntField(primary_key=True)
    person = fields.ForeignKeyField("models.Person", related_name="accounts", on_delete=fields.RESTRICT)
    channel = fields.CharField(max_length=16)
    subject = fields.CharField(max_length=128)
    unionid = fields.CharField(max_length=64, null=True, db_index=True)
    session_key_sealed = fields.TextField(null=True)  # WeChat session_key: kept server-side only
    created_at = fields.DatetimeField(auto_now_add=True)
    last_login_at = fields.DatetimeField(null=True)

    class Meta:
        table = "channel_accounts"
        unique_together = (("channel", "subject"),)
        indexes = (("person_id", "channel"),)  # every login reads the person's channels


class SmsChallenge(models.Model):
    """A login code sent by SMS: stored hashed, valid five minutes, five wrong tries at most."""

    id = fields.BigIntField(primary_key=True)
    phone_hash = fields.CharField(max_length=64, db_index=True)
    code_hash = fields.CharField(max_length=64)
    attempts = fields.SmallIntField(default=0)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    consumed_at = fields.DatetimeField(null=True)

    class Meta:
        table = "sms_challenges"
        indexes = (("expires_at",),)  # housekeeping deletes the expired (identity/housekeeping.py)


class FaceSession(models.Model):
    """One face verification: started by the citizen, run by the client SDK, read once."""

    id = fields.CharField(max_length=32, primary_key=True)
    person = fields.ForeignKeyField("models.Person", related_name=False, on_delete=fields.RESTRICT)
    channel = fields.CharField(max_length=16)
    provider_session = fields.CharField(max_length=128)
    created_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    read_at = fields.DatetimeField(null=True)
    passed = fields.BooleanField(null=True)

    class Meta:
        table = "face_sessions"
        indexes = (("person_id",), ("expires_at",))


class RefreshToken(models.Model):
    """An opaque refresh token (stored hashed). Rotated on every use; a family shares one login."""

    id = fields.BigIntField(primary_key=True)
    token_hash = fields.CharField(max_length=64, unique=True)
    family_id = fields.CharField(max_length=32, db_index=True)
    person = fields.ForeignKeyField("models.Person", related_name=False, on_delete=fields.RESTRICT)
    channel = fields.CharField(max_length=16)
    device_id = fields.CharField(max_length=128, null=True)
    assurance = fields.SmallIntField(default=1)
    issued_at = fields.DatetimeField()
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)

    class Meta:
        table = "refresh_tokens"
        indexes = (("person_id",), ("expires_at",))


class SigningKey(models.Model):
    """A key that signs access tokens (ES256). Published in the JWKS from creation until
    ``retired_at`` + the overlap window, so tokens signed before a rotation still verify."""

    kid = fields.CharField(max_length=64, primary_key=True)
    alg = fields.CharField(max_length=16, default="ES256")
    private_key_sealed = fields.TextField()
    public_jwk = fields.JSONField()
    created_at = fields.DatetimeField()
    retired_at = fields.DatetimeField(null=True)

    class Meta:
        table = "signing_keys"
