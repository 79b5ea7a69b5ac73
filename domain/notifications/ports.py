"""What notifications need from outside: the channels' message APIs and where a person is reached.

Each channel client makes ONE attempt per call (the outbox relay retries, docs/delivery.md) and
fails with the domain's typed errors: ``UpstreamUnavailable`` (try again later),
``UpstreamRateLimited`` (later still), ``UpstreamRejected`` (the platform said no; trying again
changes nothing — e.g. WeChat 43101, the citizen's consent is used up).
"""
from __future__ import annotations

from typing import Protocol


class WeChatMessages(Protocol):
    async def send_subscribe(self, *, openid: str, template_id: str, data: dict, page: str) -> str:
        """Send one subscribe message (subscribeMessage.send); answers WeChat's msgid."""


class AlipayMessages(Protocol):
    async def send_template(self, *, user_id: str, template_id: str, data: dict, page: str) -> None:
        """Send one mini-program template message (alipay.open.app.mini.templatemessage.send)."""


class PushGateway(Protocol):
    async def push(self, *, alias: str, title: str, body: str, link: str) -> str:
        """Push to every device of the app registered under ``alias``; answers the push id."""


class SmsGateway(Protocol):
    async def send_text(self, *, phone: str, text: str, template: str) -> str:
        """Send one SMS; answers the gateway's message id."""


class Recipients(Protocol):
    """Where a person is reached (their identity's channel accounts and phone)."""

    async def channel_account(self, person_id: str, channel: str) -> str | None:
        """The person's subject on ``channel`` (WeChat openid, Alipay user_id), or None."""

    async def contact_phone(self, person_id: str) -> str | None:
        """The person's phone number in clear, or None."""
