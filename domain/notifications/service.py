"""Notifications: told of every status change of an application (``on_transitions``, inside the
transaction that makes it), they write the citizen's message and — in the same transaction — its
outbox delivery ``notify.<channel>``, so a rolled-back change sends nothing and a retried one sends
once (the delivery's dedupe key names the application, the message and the channel).

The channel's own API is called later by the relay through ``senders.py``. Citizens set their
preferences and report their consents to message templates here. docs/notifications.md.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from domain.applications.ports import TransitionNotice
from domain.notifications import rules
from domain.notifications.errors import PreferencesInvalid, SubscriptionTemplateUnknown
from domain.notifications.models import Notification, NotificationPreference, NotificationSubscription
from domain.notifications.ports import Recipients
from domain.shared import idempotency
from domain.shared.clock import Clock
from domain.shared.rows import insert_rows
from domain.shared.vault import Vault

log = logging.getLogger("govhub.notifications")

PUSH_ALIAS_CONTEXT = "notification.push_alias"
CONSENT_REPORT_KEPT = timedelta(days=1)
SCOPE = "notifications"  # of its Idempotency-Keys (consent reports)
MAX_PAGE = 50


@dataclass(frozen=True)
class Template:
    """A message template registered on a mini-program's platform (办件进度通知)."""

    id: str
    long_term: bool = False  # a long-term subscription (public-service category): never used up


@dataclass(frozen=True)
class Templates:
    """The template per mini-program. Dev ids by default; production configures its own."""

    wechat: Template = Template("TMPL-GOVHUB-APPLICATION-PROGRESS-DEV")
    alipay: Template = Template("ALIPAY-TMPL-GOVHUB-APPLICATION-PROGRESS-DEV")

    def of(self, channel: str) -> Template | None:
        return getattr(self, channel, None) if channel in rules.MINI_PROGRAMS else None


@dataclass(frozen=True)
class SubscriptionView:
    channel: str
    template_id: str
    remaining: int | None  # None: long-term
    granted_at: datetime | None


@dataclass(frozen=True)
class PreferencesView:
    channels: dict[str, bool]
    sms_fallback: bool
    subscriptions: list[SubscriptionView]
    push_alias: str  # the app registers its devices with the push vendor under this alias


@dataclass(frozen=True)
class NotificationView:
    id: int
    number: str
    matter_name: str
    status: str
    status_name: str
    text: str
    at: datetime
    channel: str | None
    outcome: str
    note: str | None
    sent_at: datetime | None


@dataclass(frozen=True)
class Outgoing:
    """A queued message as a sender needs it."""

    notification_id: int
    person_id: str
    message: rules.Message


class NotificationService:
    def __init__(self, *, clock: Clock, vault: Vault, delivery, recipients: Recipients,
                 templates: Templates = Templates()) -> None:
        """``delivery``: the outbox's DeliveryService."""
        self.clock, self.vault, self.delivery = clock, vault, delivery
        self.recipients, self.templates = recipients, templates

    # --- the listener (applications' seam) ----------------------------------------------------

    async def on_transitions(self, notices: Sequence[TransitionNotice], *, connection: Any) -> None:
        """Status changes, in order: each into the citizen's message list, and onto a channel if it
        is pushed. Changes of one instant share one message, which says the latest of them. New
        messages that nothing else in the call touches and that push nothing (a batch of
        submissions) are written in one statement."""
        now = self.clock.now()
        rows = await self._messages_of(notices, connection)
        told = Counter((n.number, n.at) for n in notices)
        quiet: list[dict] = []
        for notice in notices:
            content = {"transition": notice.transition, "status": notice.to_status,
                       "matter_name": notice.matter_name, "reason": notice.reason, "due_on": notice.due_on,
                       "updated_at": now}
            row = rows.get((notice.number, notice.at))
            if row is None:
                fields = {"person_id": notice.person_id, "application_number": notice.number, "at": notice.at,
                          "outcome": rules.INBOX, "created_at": now, **content}
                if told[(notice.number, notice.at)] == 1 and not rules.pushes(notice.transition):
                    quiet.append(fields)
                    continue
                row = Notification(**fields)
                await row.save(using_db=connection)
                rows[(notice.number, notice.at)] = row
            else:
                await Notification.filter(id=row.id).using_db(connection).update(**content)
            if rules.pushes(notice.transition) and row.outcome == rules.INBOX:  # the instant's first pushed change
                await self._queue(connection, row, notice)
        if quiet:
            await insert_rows(Notification, quiet, connection=connection)

    @staticmethod
    async def _messages_of(notices: Sequence[TransitionNotice], conn: Any) -> dict[tuple, Notification]:
        """The messages already written for these (application, instant) pairs."""
        instants = {(n.number, n.at) for n in notices if not n.new}
        if not instants:
            return {}
        rows = await Notification.filter(application_number__in=sorted({n for n, _ in instants})).using_db(conn)
        return {(r.application_number, r.at): r for r in rows if (r.application_number, r.at) in instants}

    async def _queue(self, conn: BaseDBAsyncClient, row: Notification, notice: TransitionNotice) -> None:
        person, channel = notice.person_id, notice.channel
        preference = await NotificationPreference.get_or_none(person_id=person).using_db(conn)
        allowed = frozenset(preference.channels if preference else rules.CHANNELS)
        account = await self._account(person, channel) if channel in allowed else None
        consent = account is not None and await self._consume_consent(conn, person, channel)
        sms_fallback = bool(preference and preference.sms_fallback)
        phone = await self.recipients.contact_phone(person) if sms_fallback else None
        route = rules.route(rules.RouteFacts(
            applied_from=channel, allowed=allowed, has_account=account is not None, consent=consent,
            sms_fallback=sms_fallback, has_phone=phone is not None))
        delivery_id = None
        if route.channel is not None:
            payload = {"notification_id": row.id, "number": notice.number, "person_id": person}
            if route.channel in rules.MINI_PROGRAMS:
                payload["to"] = account  # an openid / user_id: a pseudonym of the platform's
            delivery_id = await self.delivery.enqueue(
                kind=rules.KINDS[route.channel], target=rules.TARGETS[route.channel], payload=payload,
                dedupe_key=f"notify:{notice.number}:{row.id}:{route.channel}", connection=conn,
                **rules.in_order(notice.number, row.id))
        await Notification.filter(id=row.id).using_db(conn).update(
            channel=route.channel, outcome=route.outcome, note=route.note, delivery_id=delivery_id)
        row.outcome = route.outcome

    async def _account(self, person_id: str, channel: str) -> str | None:
        if channel == rules.APP:  # pushed by alias: every logged-in app device can be reached
            return self.push_alias(person_id)
        return await self.recipients.channel_account(person_id, channel)

    async def _consume_consent(self, conn: BaseDBAsyncClient, person_id: str, channel: str) -> bool:
        """One consent used up (a conditional decrement: two messages cannot share one), or a
        long-term template; the app needs none."""
        template = self.templates.of(channel)
        if template is None:
            return True
        query = NotificationSubscription.filter(person_id=person_id, channel=channel, template_id=template.id)
        if template.long_term:
            return await query.using_db(conn).exists()
        used = await query.filter(remaining__gt=0).using_db(conn).update(remaining=F("remaining") - 1)
        return bool(used)

    # --- what senders need --------------------------------------------------------------------

    async def outgoing(self, notification_id: int) -> Outgoing | None:
        row = await Notification.get_or_none(id=notification_id)
        if row is None:
            return None
        return Outgoing(row.id, row.person_id, _message(row))

    async def superseded(self, outgoing: Outgoing) -> bool:
        """Has a later message about the same application been sent? Then this one, sent now,
        would tell the citizen old news after new (docs/delivery.md, "Order")."""
        return await Notification.filter(application_number=outgoing.message.number, id__gt=outgoing.notification_id,
                                         sent_at__isnull=False).exists()

    async def mark_sent(self, notification_id: int) -> None:
        await Notification.filter(id=notification_id, sent_at=None).update(sent_at=self.clock.now())

    def push_alias(self, person_id: str) -> str:
        """Opaque and stable per person: the push vendor learns no identity of the hub's."""
        return "pa_" + self.vault.lookup_hash(person_id, context=PUSH_ALIAS_CONTEXT)[:32]

    # --- the citizen's side -------------------------------------------------------------------

    async def preferences(self, *, person_id: str) -> PreferencesView:
        row = await NotificationPreference.get_or_none(person_id=person_id)
        allowed = set(row.channels) if row else set(rules.CHANNELS)
        subscriptions = await NotificationSubscription.filter(person_id=person_id).order_by("channel", "template_id")
        return PreferencesView(
            channels={c: c in allowed for c in rules.CHANNELS}, sms_fallback=bool(row and row.sms_fallback),
            subscriptions=[self._subscription(s) for s in subscriptions], push_alias=self.push_alias(person_id))

    async def set_preferences(self, *, person_id: str, channels: dict[str, bool], sms_fallback: bool) -> PreferencesView:
        """Replace the preferences (PUT): every channel named, on or off."""
        problems = [{"field": f"channels.{c}", "message": "未知渠道"} for c in channels if c not in rules.CHANNELS]
        problems += [{"field": f"channels.{c}", "message": "必填项"} for c in rules.CHANNELS if c not in channels]
        if problems:
            raise PreferencesInvalid("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)
        allowed = [c for c in rules.CHANNELS if channels[c]]
        now = self.clock.now()
        async with in_transaction() as conn:
            updated = await NotificationPreference.filter(person_id=person_id).using_db(conn).update(
                channels=allowed, sms_fallback=sms_fallback, updated_at=now)
            if not updated:
                await NotificationPreference.bulk_create(
                    [NotificationPreference(person_id=person_id, channels=allowed, sms_fallback=sms_fallback,
                                            updated_at=now)], ignore_conflicts=True, using_db=conn)
                # a concurrent first PUT may have won the insert: the last writer's values stand
                await NotificationPreference.filter(person_id=person_id).using_db(conn).update(
                    channels=allowed, sms_fallback=sms_fallback, updated_at=now)
        return await self.preferences(person_id=person_id)

    async def grant(self, *, person_id: str, channel: str, results: dict[str, str],
                    idempotency_key: str | None = None) -> PreferencesView:
        """The mini-program's report of ``wx.requestSubscribeMessage`` (or Alipay's equivalent):
        template id -> accept | reject | ban | filter. Under an ``idempotency_key`` a retried
        report is counted once (the key is claimed in the same transaction as the count)."""
        template = self.templates.of(channel)
        unknown = [t for t in results if template is None or t != template.id]
        bad = [t for t, r in results.items() if r not in rules.GRANT_RESULTS]
        if unknown or bad:
            errors = ([{"field": f"results.{t}", "message": "不是本平台的消息模板"} for t in unknown]
                      + [{"field": f"results.{t}", "message": "应为 accept、reject、ban 或 filter"} for t in bad])
            raise SubscriptionTemplateUnknown("请检查订阅结果：" + "、".join(e["field"] for e in errors), errors=errors)
        added, revoked = rules.granted(results, template.id) if template else (0, False)
        now = self.clock.now()
        report_hash = idempotency.fingerprint({"channel": channel, "results": results})
        if idempotency_key is None:
            await self._count_consent(person_id, channel, template, added, revoked, now, None)
        else:
            claim = idempotency.Claim(scope=SCOPE, person_id=person_id, key=idempotency_key,
                                      request_hash=report_hash, operation="grant")

            async def count() -> None:
                await self._count_consent(person_id, channel, template, added, revoked, now, claim)

            async def counted_before(_: str) -> None:
                return None

            await idempotency.once(claim, write=count, replay=counted_before)
        return await self.preferences(person_id=person_id)

    async def _count_consent(self, person_id: str, channel: str, template, added: int, revoked: bool,
                             now: datetime, claim: idempotency.Claim | None) -> None:
        if not (added or revoked or claim):
            return
        async with in_transaction() as conn:
            if claim is not None:  # first, so a repeat fails before it changes anything
                await idempotency.record(conn, claim, now, result="counted")
            if added or revoked:
                await NotificationSubscription.bulk_create(
                    [NotificationSubscription(person_id=person_id, channel=channel, template_id=template.id,
                                              remaining=0, granted_at=now, updated_at=now)],
                    ignore_conflicts=True, using_db=conn)
                query = NotificationSubscription.filter(person_id=person_id, channel=channel,
                                                        template_id=template.id).using_db(conn)
                if revoked:
                    await query.update(remaining=0, updated_at=now)
                else:  # atomic: two reports at once both count
                    await query.filter(remaining__lt=rules.MAX_REMAINING).update(
                        remaining=F("remaining") + added, granted_at=now, updated_at=now)

    async def reroute_refused(self, notification_id: int, refused_by: str) -> rules.Route | None:
        """``refused_by`` refused a message it had queued: an SMS instead if the citizen asked for
        one, and the message list says what happened. Once per message (None if already moved)."""
        row = await Notification.get_or_none(id=notification_id, channel=refused_by)
        if row is None:
            return None
        preference = await NotificationPreference.get_or_none(person_id=row.person_id)
        sms_fallback = bool(preference and preference.sms_fallback)
        phone = await self.recipients.contact_phone(row.person_id) if sms_fallback else None
        route = rules.rerouted(refused_by, sms_fallback=sms_fallback, has_phone=phone is not None)
        async with in_transaction() as conn:
            moved = await Notification.filter(id=row.id, channel=refused_by).using_db(conn).update(
                channel=route.channel, outcome=route.outcome, note=route.note)
            if moved and route.channel is not None:
                delivery_id = await self.delivery.enqueue(
                    kind=rules.KINDS[route.channel], target=rules.TARGETS[route.channel],
                    payload={"notification_id": row.id, "number": row.application_number, "person_id": row.person_id},
                    dedupe_key=f"notify:{row.application_number}:{row.id}:{route.channel}", connection=conn,
                    **rules.in_order(row.application_number, row.id))  # in the place of the refused one
                await Notification.filter(id=row.id).using_db(conn).update(delivery_id=delivery_id)
        return route if moved else None

    async def purge_consent_reports(self) -> dict:
        """Keys of consent reports are kept a day (a retry comes within seconds), then forgotten."""
        cutoff = self.clock.now() - CONSENT_REPORT_KEPT
        return {"purged": await idempotency.forget(SCOPE, before=cutoff)}

    async def messages(self, *, person_id: str, before: int | None = None, limit: int = 20) -> list[NotificationView]:
        """The citizen's message list, newest first; ``before`` pages by id."""
        query = Notification.filter(person_id=person_id)
        if before is not None:
            query = query.filter(id__lt=before)
        rows = await query.order_by("-id").limit(max(1, min(limit, MAX_PAGE)))
        return [_view(r) for r in rows]

    def _subscription(self, row: NotificationSubscription) -> SubscriptionView:
        template = self.templates.of(row.channel)
        long_term = template is not None and template.long_term and template.id == row.template_id
        return SubscriptionView(channel=row.channel, template_id=row.template_id,
                                remaining=None if long_term else row.remaining, granted_at=row.granted_at)


def _message(row: Notification) -> rules.Message:
    return rules.Message(number=row.application_number, matter_name=row.matter_name, status=row.status,
                         at=row.at, reason=row.reason, due_on=row.due_on)


def _view(row: Notification) -> NotificationView:
    message = _message(row)
    return NotificationView(id=row.id, number=row.application_number, matter_name=row.matter_name,
                            status=row.status, status_name=message.status_name, text=rules.hint(message),
                            at=row.at, channel=row.channel, outcome=row.outcome, note=row.note,
                            sent_at=row.sent_at)
