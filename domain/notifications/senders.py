"""The outbox's senders of ``notify.*`` deliveries (``DeliveryService.senders``): one attempt each,
the channel client's typed failure turned into the relay's outcome (docs/delivery.md).

The message is read from the citizen's message list when it is sent, so the changes of one instant
go out as their latest state; the phone number of an SMS is looked up at that moment too, so it is
never stored in the outbox in clear.
"""
from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from domain.delivery.ports import Outgoing as Delivery, SendResult
from domain.notifications import rules
from domain.notifications.ports import AlipayMessages, PushGateway, Recipients, SmsGateway, WeChatMessages
from domain.notifications.service import NotificationService, Outgoing
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

log = logging.getLogger("govhub.notifications.send")

RATE_LIMITED_WAIT = 60.0  # seconds, when a platform says "too many" without saying how long


class _Sender(ABC):
    channel = ""

    def __init__(self, notifications: NotificationService) -> None:
        self.notifications = notifications

    async def send(self, delivery: Delivery) -> SendResult:
        outgoing = await self.notifications.outgoing(int(delivery.payload.get("notification_id", 0)))
        if outgoing is None:
            return SendResult.rejected("the notification no longer exists")
        if await self.notifications.superseded(outgoing):
            # resent by an operator after a later message went out: it would arrive out of order
            return SendResult.rejected("superseded: a later message about this application was sent")
        try:
            await self._send(outgoing, delivery.payload)
        except UpstreamRateLimited as error:
            return SendResult.retry(_said(error), retry_after=RATE_LIMITED_WAIT)
        except UpstreamUnavailable as error:
            return SendResult.retry(_said(error))
        except UpstreamRejected as error:
            log.warning("%s refused notification %s: %s", self.channel, outgoing.notification_id, _said(error))
            instead = ""
            if self.channel in rules.MINI_PROGRAMS:  # e.g. WeChat 43101: its count of consents differs from ours
                route = await self.notifications.reroute_refused(outgoing.notification_id, self.channel)
                instead = f"; {route.note}" if route else ""
            return SendResult.rejected(_said(error) + instead)
        await self.notifications.mark_sent(outgoing.notification_id)
        return SendResult.delivered()

    @abstractmethod
    async def _send(self, outgoing: Outgoing, payload: dict) -> None:
        """Hand the message to the channel; raise the adapters' Upstream* errors on failure."""


class WeChatSender(_Sender):
    channel = rules.WECHAT

    def __init__(self, notifications: NotificationService, client: WeChatMessages) -> None:
        super().__init__(notifications)
        self.client = client

    async def _send(self, outgoing: Outgoing, payload: dict) -> None:
        m = outgoing.message
        await self.client.send_subscribe(openid=payload["to"], template_id=self.notifications.templates.wechat.id,
                                         data=rules.wechat_data(m), page=rules.MINI_PAGE.format(number=m.number))


class AlipaySender(_Sender):
    channel = rules.ALIPAY

    def __init__(self, notifications: NotificationService, client: AlipayMessages) -> None:
        super().__init__(notifications)
        self.client = client

    async def _send(self, outgoing: Outgoing, payload: dict) -> None:
        m = outgoing.message
        await self.client.send_template(user_id=payload["to"], template_id=self.notifications.templates.alipay.id,
                                        data=rules.alipay_data(m), page=rules.MINI_PAGE.format(number=m.number))


class PushSender(_Sender):
    channel = rules.APP

    def __init__(self, notifications: NotificationService, gateway: PushGateway) -> None:
        super().__init__(notifications)
        self.gateway = gateway

    async def _send(self, outgoing: Outgoing, payload: dict) -> None:
        title, body, link = rules.push_content(outgoing.message)
        await self.gateway.push(alias=self.notifications.push_alias(outgoing.person_id), title=title, body=body,
                                link=link)


class SmsSender(_Sender):
    channel = rules.SMS

    def __init__(self, notifications: NotificationService, gateway: SmsGateway, recipients: Recipients) -> None:
        super().__init__(notifications)
        self.gateway, self.recipients = gateway, recipients

    async def _send(self, outgoing: Outgoing, payload: dict) -> None:
        phone = await self.recipients.contact_phone(outgoing.person_id)
        if phone is None:  # the number was removed since: nothing will ever reach them by SMS
            raise UpstreamRejected("no phone number", system="sms", upstream_code="no-phone")
        await self.gateway.send_text(phone=phone, text=rules.sms_text(outgoing.message),
                                     template="application_progress")


def senders(notifications: NotificationService, *, wechat: WeChatMessages, alipay: AlipayMessages,
            push: PushGateway, sms: SmsGateway, recipients: Recipients) -> dict:
    """kind -> sender, for ``DeliveryService.senders``."""
    return {rules.KINDS[rules.WECHAT]: WeChatSender(notifications, wechat),
            rules.KINDS[rules.ALIPAY]: AlipaySender(notifications, alipay),
            rules.KINDS[rules.APP]: PushSender(notifications, push),
            rules.KINDS[rules.SMS]: SmsSender(notifications, sms, recipients)}


def _said(error) -> str:
    return f"{error.system or 'upstream'} {error.upstream_code or error.code}"
