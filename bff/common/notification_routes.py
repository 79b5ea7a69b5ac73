"""Notification settings and messages on every citizen channel (docs/notifications.md):
preferences (which channels may message me, SMS fallback), the mini-programs' report of a
subscribe-message consent (served on the mini-programs only), and the message list.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json

from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import IDEMPOTENCY_KEY, doc
from bff.common.limits import rate_limited
from bff.common.parsing import idempotency_key, parse_body, parse_query
from bff.common.schemas import Body, Id64, Out, Query, Time, items_of
from domain.notifications import rules
from domain.notifications.service import NotificationView, PreferencesView
from domain.shared.clock import SHANGHAI

AUTH = {401: ["token_invalid"]}


class ChannelsIn(Body):
    wechat: bool
    alipay: bool
    app: bool


class PreferencesIn(Body):
    channels: ChannelsIn = Field(description="every channel, on or off: may it carry my messages?")
    sms_fallback: bool = Field(description="send an SMS when the channel I applied from cannot carry a message")


class SubscriptionsIn(Body):
    results: dict[str, Literal["accept", "reject", "ban", "filter"]] = Field(
        min_length=1, max_length=3,
        description="what wx.requestSubscribeMessage (my.requestSubscribeMessage) answered: template id -> "
                    "accept | reject | ban | filter")


class SubscriptionOut(Out):
    template_id: str
    remaining: int | None = Field(None, description="messages still allowed; null for a long-term template")


class PreferencesOut(Out):
    channels: dict[str, bool]
    sms_fallback: bool
    subscribe_template_id: str | None = Field(None, description="the template to ask consent for (mini-programs)")
    subscriptions: list[SubscriptionOut] = []


class AppPreferencesOut(PreferencesOut):
    push_alias: str | None = Field(description="the alias the app registers its devices under with the push vendor")


class MessagesQuery(Query):
    before: Id64 | None = Field(None, description="the last id of the previous page")
    limit: int = Field(20, ge=1, le=50)


class MessageOut(Out):
    id: int
    number: str
    matter_name: str
    status: str
    status_name: str
    text: str
    at: Time
    sent_via: str | None = Field(description="the channel that carried it")
    note: str | None = Field(description="why it was not sent, when it was not")


class MiniMessageOut(MessageOut):
    page: str = Field(description="the mini-program page it opens")


class AppMessageOut(MessageOut):
    outcome: str | None
    link: str = Field(description="the app's deep link")
    sent_at: Time | None


PREFERENCES = ByChannel(lambda channel: AppPreferencesOut if channel.name == rules.APP else PreferencesOut)
MESSAGES = ByChannel(lambda channel: items_of(AppMessageOut if channel.name == rules.APP else MiniMessageOut,
                                              "next_before", int))

routes = ChannelRoutes()


@routes.get("/me/notification-preferences")
@doc("通知设置 My notification preferences", ok=(200, PREFERENCES), errors=AUTH,
     description="Which channels may carry my application messages, whether an SMS stands in, the "
                 "template the mini-program asks consent for, and the consents left.")
async def get_preferences(request: Request, channel: Channel) -> HTTPResponse:
    view = await request.app.ctx.notifications.preferences(person_id=request.ctx.auth.subject)
    return json(_preferences(view, request, channel.name), ensure_ascii=False)


@routes.put("/me/notification-preferences")
@doc("修改通知设置 Set my notification preferences", body=PreferencesIn, ok=(200, PREFERENCES),
     errors={400: ["invalid_input", "malformed_json", "notification_preferences_invalid"], **AUTH,
             429: ["rate_limited"]},
     description="Replaces the preferences: every channel named, on or off. Idempotent.")
@rate_limited("notification_preferences", capacity=30, per_seconds=60, by="person")
async def put_preferences(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, PreferencesIn)
    view = await request.app.ctx.notifications.set_preferences(
        person_id=request.ctx.auth.subject, channels=body.channels.model_dump(), sms_fallback=body.sms_fallback)
    return json(_preferences(view, request, channel.name), ensure_ascii=False)


@routes.get("/me/notifications")
@doc("我的消息 My messages about my applications", ok=(200, MESSAGES), query=MessagesQuery,
     errors=AUTH,
     description="Newest first, one per status change (the changes of one instant share one); each says "
                 "where it was sent, or why it was not.")
async def list_messages(request: Request, channel: Channel) -> HTTPResponse:
    query = parse_query(request, MessagesQuery)
    items = await request.app.ctx.notifications.messages(person_id=request.ctx.auth.subject,
                                                         before=query.before, limit=query.limit)
    more = len(items) == query.limit
    return json({"items": [_message(m, channel.name) for m in items],
                 "next_before": items[-1].id if items and more else None}, ensure_ascii=False)


@routes.post("/me/subscriptions", channels=rules.MINI_PROGRAMS)
@doc("订阅消息授权 Report a subscribe-message consent", body=SubscriptionsIn, ok=(200, PREFERENCES),
     headers=(IDEMPOTENCY_KEY,),
     errors={400: ["invalid_input", "malformed_json", "subscription_template_unknown"], **AUTH,
             409: ["idempotency_key_reused"], 429: ["rate_limited"]},
     description="Call after wx.requestSubscribeMessage (my.requestSubscribeMessage) with what it answered. "
                 "Each `accept` allows one message (a one-time subscription); `ban` withdraws what is left. "
                 "Send an `Idempotency-Key` (one per dialog answer): a retried report then counts once; "
                 "the same key with other results is 409.")
@rate_limited("subscriptions", capacity=30, per_seconds=60, by="person")
async def subscribe(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, SubscriptionsIn)
    view = await request.app.ctx.notifications.grant(person_id=request.ctx.auth.subject, channel=channel.name,
                                                     results=body.results, idempotency_key=idempotency_key(request))
    return json(_preferences(view, request, channel.name), ensure_ascii=False)

def _preferences(view: PreferencesView, request: Request, channel: str) -> dict:
    template = request.app.ctx.notifications.templates.of(channel)
    body = {"channels": view.channels, "sms_fallback": view.sms_fallback,
            "subscribe_template_id": template.id if template else None,
            "subscriptions": [{"template_id": s.template_id, "remaining": s.remaining}
                              for s in view.subscriptions if s.channel == channel]}
    if channel == rules.APP:  # the app registers its devices with the push vendor under it
        body["push_alias"] = view.push_alias
    return body


def _message(m: NotificationView, channel: str) -> dict:
    body = {"id": m.id, "number": m.number, "matter_name": m.matter_name, "status": m.status,
            "status_name": m.status_name, "text": m.text, "at": m.at.astimezone(SHANGHAI).isoformat(),
            "sent_via": m.channel, "note": m.note}
    if channel == rules.APP:
        body |= {"outcome": m.outcome, "link": rules.APP_LINK.format(number=m.number),
                 "sent_at": m.sent_at.astimezone(SHANGHAI).isoformat() if m.sent_at else None}
    else:
        body["page"] = rules.MINI_PAGE.format(number=m.number)
    return body
