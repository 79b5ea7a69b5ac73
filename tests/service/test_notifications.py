"""Notifications on the database, through the real applications service and its listener seam:
a message per status change, queued in the change's own transaction on the channel applied from
only with a consent left, SMS fallback when allowed, one message for the changes of one instant,
never twice for one change, nothing when the change rolls back."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage.local import LocalMaterialStore
from domain.applications.ports import TransitionListeners, TransitionNotice
from domain.applications.service import ApplicationService
from domain.delivery.models import Delivery
from domain.identity.models import ChannelAccount, Person
from domain.identity.people import NAME, PHONE
from domain.notifications import rules
from domain.notifications.errors import PreferencesInvalid, SubscriptionTemplateUnknown
from domain.notifications.models import Notification, NotificationSubscription
from domain.notifications.service import NotificationService, Template, Templates
from domain.shared.clock import FrozenClock
from tests.support.applications import FORM, PDF, setup_catalog_and_nodes

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
FUND = "330100-NAT-0001"
TEMPLATE = Templates().wechat.id


@pytest.fixture
async def nodes(resources):
    return await setup_catalog_and_nodes(resources)


@pytest.fixture
def notifications(resources):
    s = resources
    return NotificationService(clock=FrozenClock(NOW), vault=s.vault, delivery=s.delivery,
                               recipients=s.identity)


@pytest.fixture
async def service(resources, tmp_path, nodes, notifications):
    return _service(resources, tmp_path, notifications)


def _service(hub, tmp_path, listener) -> ApplicationService:
    return ApplicationService(clock=FrozenClock(NOW), vault=hub.vault, catalog=hub.catalog, nodes=hub.nodes,
                              identity=hub.identity, delivery=hub.delivery, store=LocalMaterialStore(tmp_path),
                              listeners=TransitionListeners(listener))


async def _person(resources, public_id="p_alice", *, openid="o-alice", phone="13800000001") -> str:
    vault = resources.vault
    person = await Person.create(public_id=public_id, assurance=2, name_sealed=vault.seal("张丽", context=NAME),
                                 phone_sealed=vault.seal(phone, context=PHONE) if phone else None)
    if openid:
        await ChannelAccount.create(person=person, channel="wechat", subject=openid, last_login_at=NOW)
    return public_id


async def _submit(service, person, channel="wechat", key="k1"):
    uploads = [(await service.upload_material(person_id=person, data=PDF, filename="a.pdf")).id for _ in range(2)]
    return (await service.submit(person_id=person, channel=channel, matter_code=FUND, form=FORM, idempotency_key=key,
                                 materials=[{"name": "居民身份证", "upload_id": uploads[0]},
                                            {"name": "购房合同", "upload_id": uploads[1]}])).application


async def _event(service, number, type_, minutes):
    await service.apply_event(node_code="zj-platform", number=number, event_id=f"ev-{type_}", type=type_,
                              occurred_at=NOW + timedelta(minutes=minutes))


async def _deliveries(resources, number):
    rows = await Delivery.filter(kind__startswith="notify.").order_by("id")
    opened = [(row.kind, resources.delivery.payload_of(row)) for row in rows]
    return [(kind, payload.get("to")) for kind, payload in opened if payload["number"] == number]


async def test_each_change_is_a_message_sent_on_wechat_while_consents_last_then_by_sms(resources, service,
                                                                                     notifications):
    alice = await _person(resources)
    await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    app = await _submit(service, alice)
    assert await _deliveries(resources, app.number) == []  # the citizen's own change: in the list, not pushed
    await _event(service, app.number, "accepted", 1)
    await _event(service, app.number, "review_started", 2)
    assert await _deliveries(resources, app.number) == [("notify.wechat", "o-alice")] * 2
    await _event(service, app.number, "approved", 3)  # no consent left, no SMS allowed
    await notifications.set_preferences(person_id=alice, channels={"wechat": True, "alipay": True, "app": True},
                                        sms_fallback=True)
    await _event(service, app.number, "completed", 4)
    assert await _deliveries(resources, app.number) == [("notify.wechat", "o-alice")] * 2 + [("notify.sms", None)]
    messages = await notifications.messages(person_id=alice)
    assert [(m.status, m.outcome) for m in messages] == [
        ("completed", "fallback"), ("approved", "not_sent"), ("in_review", "queued"), ("accepted", "queued"),
        ("submitted", "inbox")]
    assert messages[1].note == "您未订阅办件进度消息，未开启短信提醒，未发送"
    assert messages[0].note == "您未订阅办件进度消息，已改发短信"
    subscription = await NotificationSubscription.get(person_id=alice)
    assert subscription.remaining == 0
    delivery = await Delivery.get(kind="notify.sms")
    assert delivery.dedupe_key == f"notify:{app.number}:{messages[0].id}:sms" and "13800000001" not in str(
        resources.delivery.payload_of(delivery))


async def test_a_channel_switched_off_or_without_an_account_is_not_used(resources, service, notifications):
    alice = await _person(resources, openid=None)
    await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    app = await _submit(service, alice)
    await _event(service, app.number, "accepted", 1)
    first = (await notifications.messages(person_id=alice))[0]
    assert (first.outcome, first.note) == ("not_sent", "未找到您的微信小程序账号，未开启短信提醒，未发送")
    assert (await NotificationSubscription.get(person_id=alice)).remaining == 1  # not spent on nothing
    await notifications.set_preferences(person_id=alice, channels={"wechat": False, "alipay": True, "app": True},
                                        sms_fallback=False)
    await _event(service, app.number, "review_started", 2)
    assert (await notifications.messages(person_id=alice))[0].note == "您已关闭微信小程序消息，未开启短信提醒，未发送"


async def test_the_app_is_pushed_without_a_consent(resources, service, notifications):
    alice = await _person(resources, openid=None)
    app = await _submit(service, alice, channel="app")
    await _event(service, app.number, "accepted", 1)
    delivery = await Delivery.get(kind="notify.push")
    assert delivery.target == "push" and resources.delivery.payload_of(delivery)["notification_id"]


async def test_the_changes_of_one_instant_are_one_message(resources, service, notifications):
    alice = await _person(resources)
    await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    app = await _submit(service, alice)
    at = NOW + timedelta(minutes=5)
    for name, status in (("accept", "accepted"), ("start_review", "in_review"), ("approve", "approved"),
                         ("complete", "completed")):
        notice = TransitionNotice(number=app.number, person_id=alice, channel="wechat", matter_name=app.matter_name,
                                  transition=name, from_status=None, to_status=status, at=at, reason=None,
                                  due_on=None)
        await notifications.on_transitions([notice], connection=None)
        await notifications.on_transitions([notice], connection=None)  # told twice: still once
    rows = await Notification.filter(application_number=app.number, at=at)
    assert len(rows) == 1 and rows[0].status == "completed" and rows[0].outcome == "queued"
    assert await _deliveries(resources, app.number) == [("notify.wechat", "o-alice")]
    outgoing = await notifications.outgoing(rows[0].id)
    assert rules.wechat_data(outgoing.message)["phrase3"]["value"] == "已办结"


async def test_a_change_rolled_back_leaves_no_message_and_no_delivery(resources, service, notifications):
    class Broken:
        async def on_transitions(self, notices, *, connection):
            raise RuntimeError("after the notification was written")

    alice = await _person(resources)
    await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    app = await _submit(service, alice)
    service.listeners.join(Broken())
    with pytest.raises(RuntimeError):
        await _event(service, app.number, "accepted", 1)
    assert await Notification.filter(status="accepted").count() == 0 and await _deliveries(resources, app.number) == []
    assert (await NotificationSubscription.get(person_id=alice)).remaining == 1  # the consent is not spent


async def test_consents_accept_ban_and_unknown_templates(resources, notifications):
    alice = await _person(resources)
    view = await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    assert [(s.template_id, s.remaining) for s in view.subscriptions] == [(TEMPLATE, 1)]
    await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "reject"})
    assert (await NotificationSubscription.get(person_id=alice)).remaining == 1
    await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "ban"})
    assert (await NotificationSubscription.get(person_id=alice)).remaining == 0
    with pytest.raises(SubscriptionTemplateUnknown) as caught:
        await notifications.grant(person_id=alice, channel="wechat", results={"other-template": "accept"})
    assert caught.value.extra["errors"][0]["field"] == "results.other-template"
    with pytest.raises(SubscriptionTemplateUnknown):
        await notifications.grant(person_id=alice, channel="app", results={TEMPLATE: "accept"})
    for _ in range(rules.MAX_REMAINING + 3):
        await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    assert (await NotificationSubscription.get(person_id=alice)).remaining == rules.MAX_REMAINING


async def test_a_consent_report_retried_under_its_key_counts_once(resources, notifications):
    import asyncio

    from domain.shared.errors import IdempotencyKeyReused

    alice = await _person(resources)
    accept = {TEMPLATE: "accept"}
    await notifications.grant(person_id=alice, channel="wechat", results=accept, idempotency_key="dialog-1")
    again = await notifications.grant(person_id=alice, channel="wechat", results=accept, idempotency_key="dialog-1")
    assert [s.remaining for s in again.subscriptions] == [1]
    await asyncio.gather(*(notifications.grant(person_id=alice, channel="wechat", results=accept,
                                               idempotency_key="dialog-2") for _ in range(5)))
    assert (await NotificationSubscription.get(person_id=alice)).remaining == 2
    with pytest.raises(IdempotencyKeyReused):
        await notifications.grant(person_id=alice, channel="wechat", results={TEMPLATE: "ban"},
                                  idempotency_key="dialog-2")
    assert (await NotificationSubscription.get(person_id=alice)).remaining == 2
    await notifications.grant(person_id=alice, channel="wechat", results=accept)  # no key: counted each time
    assert (await NotificationSubscription.get(person_id=alice)).remaining == 3
    assert await notifications.purge_consent_reports() == {"purged": 0}
    notifications.clock = FrozenClock(notifications.clock.now() + timedelta(days=1, seconds=1))
    assert await notifications.purge_consent_reports() == {"purged": 2}


async def test_a_long_term_template_is_never_used_up(resources, tmp_path, nodes):
    s = resources
    long_term = NotificationService(clock=FrozenClock(NOW), vault=s.vault, delivery=s.delivery,
                                    recipients=s.identity,
                                    templates=Templates(wechat=Template(TEMPLATE, long_term=True)))
    service = _service(resources, tmp_path, long_term)  # instead of the one-time template's service
    alice = await _person(resources)
    await long_term.grant(person_id=alice, channel="wechat", results={TEMPLATE: "accept"})
    app = await _submit(service, alice)
    for minutes, event in enumerate(("accepted", "review_started", "approved", "completed"), start=1):
        await _event(service, app.number, event, minutes)
    assert len(await _deliveries(resources, app.number)) == 4
    assert (await long_term.preferences(person_id=alice)).subscriptions[0].remaining is None


async def test_preferences_default_replace_and_refuse_bad_input(resources, notifications):
    alice = await _person(resources)
    view = await notifications.preferences(person_id=alice)
    assert view.channels == {"wechat": True, "alipay": True, "app": True} and view.sms_fallback is False
    assert view.push_alias.startswith("pa_") and alice not in view.push_alias
    view = await notifications.set_preferences(person_id=alice, channels={"wechat": False, "alipay": True,
                                                                          "app": True}, sms_fallback=True)
    assert view.channels["wechat"] is False and view.sms_fallback is True
    with pytest.raises(PreferencesInvalid) as caught:
        await notifications.set_preferences(person_id=alice, channels={"wechat": True, "fax": True},
                                            sms_fallback=False)
    assert {e["field"] for e in caught.value.extra["errors"]} == {"channels.fax", "channels.alipay",
                                                                   "channels.app"}
    assert (await notifications.preferences(person_id=alice)).channels["wechat"] is False  # unchanged
