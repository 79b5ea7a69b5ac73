"""Tables of notifications (the schema itself is owned by Alembic: migration 0010)."""
from __future__ import annotations

from tortoise import fields, models


class NotificationPreference(models.Model):
    """A citizen's choices (通知设置): which channels may message them, and whether an SMS may stand
    in when the channel cannot. No row: every channel allowed, no SMS fallback."""

    id = fields.BigIntField(primary_key=True)
    person_id = fields.CharField(max_length=32, unique=True)  # Person.public_id (the token subject)
    channels = fields.JSONField()  # the allowed channels: ["wechat", "alipay", "app"]
    sms_fallback = fields.BooleanField(default=False)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "notification_preferences"


class NotificationSubscription(models.Model):
    """A citizen's consent to one message template on one mini-program (订阅消息授权): each
    "accept" of ``wx.requestSubscribeMessage`` allows one message, used up when a message is
    queued (WeChat's one-time subscriptions); a long-term template is never used up."""

    id = fields.BigIntField(primary_key=True)
    person_id = fields.CharField(max_length=32)
    channel = fields.CharField(max_length=16)  # wechat | alipay
    template_id = fields.CharField(max_length=64)
    remaining = fields.IntField(default=0)  # messages still allowed
    granted_at = fields.DatetimeField()  # the latest consent
    updated_at = fields.DatetimeField()

    class Meta:
        table = "notification_subscriptions"
        unique_together = (("person_id", "channel", "template_id"),)


class Notification(models.Model):
    """One message to a citizen about an application (their message list, 消息): the status changes
    of one instant (``at``) make one message, which says where it went (``outcome``)."""

    id = fields.BigIntField(primary_key=True)
    person_id = fields.CharField(max_length=32)
    application_number = fields.CharField(max_length=32)
    at = fields.DatetimeField()  # when the status changed (the transition's time)
    transition = fields.CharField(max_length=32)  # the latest transition of that instant
    status = fields.CharField(max_length=24)  # the status it reached
    matter_name = fields.CharField(max_length=200)
    reason = fields.TextField(null=True)
    due_on = fields.DateField(null=True)
    channel = fields.CharField(max_length=16, null=True)  # where it was sent: wechat | alipay | app | sms
    outcome = fields.CharField(max_length=16)  # inbox | queued | fallback | not_sent
    note = fields.CharField(max_length=200, null=True)  # why it went where it went, in Chinese
    delivery_id = fields.BigIntField(null=True)  # the outbox row that sends it
    sent_at = fields.DatetimeField(null=True)  # when the channel took it
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "notifications"
        unique_together = (("application_number", "at"),)
        indexes = (("person_id", "id"),)
