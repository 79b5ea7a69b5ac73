"""Typed errors of notifications."""
from __future__ import annotations

from domain.shared.errors import InvalidInput


class SubscriptionTemplateUnknown(InvalidInput):
    """A consent reported for a template this hub does not send."""

    code = "subscription_template_unknown"
    title = "订阅的消息模板不存在"


class PreferencesInvalid(InvalidInput):
    code = "notification_preferences_invalid"
    title = "通知设置有误"
