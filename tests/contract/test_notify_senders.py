"""The notification senders against the mock platforms over real HTTP: WeChat subscribe messages
through wechatpy, Alipay template messages signed RSA2, SMS through the gateway; then the outbox
relay sending queued notifications end to end (mock WeChat, SMS sink, push stub)."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import fakeredis
import httpx
import pytest

from adapters.notify.alipay import AlipayTemplateMessages
from adapters.notify.sms import HttpSmsNotifier
from adapters.notify.wechat import WeChatSubscribeMessages
from adapters.wechat import RedisSessionStorage
from domain.applications.ports import TransitionNotice
from domain.delivery.models import Delivery, DeliveryAttempt
from domain.identity.models import ChannelAccount, Person
from domain.identity.people import PHONE
from domain.notifications.models import Notification
from domain.notifications.service import Templates
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

DEVKEYS = Path(__file__).resolve().parents[2] / "devkeys"
DATA = {"character_string1": {"value": "330106-20261127-000001"}, "thing2": {"value": "个体工商户设立登记"},
        "phrase3": {"value": "已受理"}, "time4": {"value": "2026年11月27日 10:00"}, "thing5": {"value": "请等待"}}
PAGE = "pages/applications/detail?no=330106-20261127-000001"


@pytest.fixture
async def mock(mock_url):
    async with httpx.AsyncClient(base_url=mock_url) as http:
        await http.post("/_mock/reset")
        yield http
        await http.post("/_mock/reset")  # a moved clock or a fault left over must not reach other tests


async def fault(mock, **spec) -> None:
    assert (await mock.post("/_mock/faults", json=spec)).status_code == 201


async def user(mock, name="alice") -> dict:
    return (await mock.get(f"/_mock/users/{name}")).json()


@pytest.fixture
def wechat(mock_url):
    return WeChatSubscribeMessages(base_url=f"{mock_url}/wechat/", appid="wxdev0000000000001",
                                   secret="dev-wechat-secret",
                                   session_storage=RedisSessionStorage(fakeredis.FakeRedis(server=fakeredis.FakeServer())))


@pytest.fixture
def alipay(mock_url):
    return AlipayTemplateMessages(gateway_url=f"{mock_url}/alipay/gateway.do", app_id="2021000000000001",
                                  app_private_key_pem=(DEVKEYS / "alipay_app_private.pem").read_bytes(),
                                  alipay_public_key_pem=(DEVKEYS / "alipay_platform_public.pem").read_bytes())


# --- WeChat ------------------------------------------------------------------------------------


async def test_wechat_subscribe_message_arrives_as_sent(wechat, mock):
    openid = (await user(mock))["wechat"]["openid"]
    msgid = await wechat.send_subscribe(openid=openid, template_id="TMPL-1", data=DATA, page=PAGE)
    received = (await mock.get("/_mock/wechat/messages", params={"touser": openid})).json()["messages"]
    assert len(received) == 1 and str(received[0]["msgid"]) == msgid
    assert (received[0]["template_id"], received[0]["page"], received[0]["data"]) == ("TMPL-1", PAGE, DATA)


@pytest.mark.parametrize("spec, error", [
    ({"errcode": 43101}, UpstreamRejected),   # the citizen's consent is used up
    ({"errcode": 40003}, UpstreamRejected),   # not an openid of this mini-program
    ({"errcode": -1}, UpstreamUnavailable),   # system busy: the relay tries again
    ({"http_status": 502}, UpstreamUnavailable),
    ({"errcode": 45009}, UpstreamRateLimited),  # the day's quota: later
])
async def test_wechat_failures_are_typed_for_the_relay(wechat, mock, spec, error):
    await wechat.send_subscribe(openid="o-warm-up", template_id="TMPL-1", data=DATA, page=PAGE)  # token fetched
    await fault(mock, api="subscribe_send", times=1, **spec)
    with pytest.raises(error):
        await wechat.send_subscribe(openid="o-1", template_id="TMPL-1", data=DATA, page=PAGE)
    assert len((await mock.get("/_mock/wechat/messages", params={"touser": "o-1"})).json()["messages"]) == 0


async def test_an_expired_access_token_is_fetched_again_once(wechat, mock):
    await wechat.send_subscribe(openid="o-1", template_id="TMPL-1", data=DATA, page=PAGE)
    await mock.post("/_mock/clock", json={"advance": 7300})  # every token of the platform expires
    await wechat.send_subscribe(openid="o-1", template_id="TMPL-1", data=DATA, page=PAGE)
    assert len((await mock.get("/_mock/wechat/messages", params={"touser": "o-1"})).json()["messages"]) == 2


# --- Alipay ------------------------------------------------------------------------------------


async def test_alipay_template_message_is_signed_and_arrives(alipay, mock):
    user_id = (await user(mock))["alipay"]["user_id"]
    await alipay.send_template(user_id=user_id, template_id="ALIPAY-TMPL-1", data={"keyword1": {"value": "x"}},
                               page=PAGE)
    received = (await mock.get("/_mock/alipay/messages", params={"to_user_id": user_id})).json()["messages"]
    assert len(received) == 1
    assert (received[0]["user_template_id"], received[0]["page"]) == ("ALIPAY-TMPL-1", PAGE)
    assert received[0]["data"] == {"keyword1": {"value": "x"}}


@pytest.mark.parametrize("spec, error", [
    ({"errcode": 20000}, UpstreamUnavailable),
    ({"http_status": 503}, UpstreamUnavailable),
    ({"corrupt_sign": True}, UpstreamUnavailable),  # an answer that does not verify is not believed
    ({"errcode": "40004", "sub_code": "isv.user-not-subscribed"}, UpstreamRejected),
])
async def test_alipay_failures_are_typed_for_the_relay(alipay, mock, spec, error):
    await fault(mock, api="alipay.open.app.mini.templatemessage.send", times=1, **spec)
    with pytest.raises(error):
        await alipay.send_template(user_id="2088000000000001", template_id="T", data={}, page=PAGE)


async def test_alipay_refuses_a_user_id_that_is_none(alipay, mock):
    with pytest.raises(UpstreamRejected):
        await alipay.send_template(user_id="not-a-user", template_id="T", data={}, page=PAGE)


# --- SMS -----------------------------------------------------------------------------------------


async def test_sms_text_reaches_the_sink_and_failures_are_typed(mock_url, mock):
    sms = HttpSmsNotifier(base_url=f"{mock_url}/_mock/sms")
    try:
        await sms.send_text(phone="13800000009", text="【国家政务服务平台】测试", template="application_progress")
        last = (await mock.get("/_mock/sms/13800000009")).json()
        assert (last["text"], last["template"]) == ("【国家政务服务平台】测试", "application_progress")
        await fault(mock, api="sms", times=1, http_status=500)
        with pytest.raises(UpstreamUnavailable):
            await sms.send_text(phone="13800000009", text="x", template="t")
        with pytest.raises(UpstreamRejected):
            await sms.send_text(phone="12345", text="x", template="t")
    finally:
        await sms.aclose()
    dead = HttpSmsNotifier(base_url="http://127.0.0.1:9/_mock/sms")
    with pytest.raises(UpstreamUnavailable):
        await dead.send_text(phone="13800000009", text="x", template="t")
    await dead.aclose()


# --- the relay, end to end -----------------------------------------------------------------------

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


async def _queued(resources, mock, *, channel="wechat", sms_fallback=False, person="p_alice",
                  number="330106-20261127-000001"):
    s = resources
    alice = await user(mock)
    row = await Person.create(public_id=person, assurance=2,
                              phone_sealed=s.vault.seal("13800000001", context=PHONE))
    if channel == "wechat":
        await ChannelAccount.create(person=row, channel="wechat", subject=alice["wechat"]["openid"],
                                    last_login_at=NOW)
    notifications = s.notifications
    await notifications.set_preferences(person_id=person, channels={"wechat": True, "alipay": True, "app": True},
                                        sms_fallback=sms_fallback)
    if not sms_fallback:
        await notifications.grant(person_id=person, channel="wechat", results={Templates().wechat.id: "accept"})
    notice = TransitionNotice(number=number, person_id=person, channel=channel,
                              matter_name="个体工商户设立登记", transition="accept", from_status="submitted",
                              to_status="accepted", at=NOW, reason=None, due_on=None)
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        await notifications.on_transitions([notice], connection=conn)
    return alice


async def test_the_relay_sends_a_queued_notification_to_the_mock_wechat(resources, mock):
    alice = await _queued(resources, mock)
    report = await resources.delivery.relay_due(10)
    assert report.delivered == 1, report
    received = (await mock.get("/_mock/wechat/messages", params={"touser": alice["wechat"]["openid"]})).json()
    message = received["messages"][0]
    assert message["template_id"] == Templates().wechat.id and message["data"]["phrase3"]["value"] == "已受理"
    assert message["page"] == "pages/applications/detail?no=330106-20261127-000001"
    assert (await Notification.get()).sent_at is not None
    assert (await resources.delivery.relay_due(10)).claimed == 0  # sent once, done


async def test_an_sms_fallback_and_an_app_push_are_sent_too(resources, mock):
    await _queued(resources, mock, sms_fallback=True)
    await resources.delivery.relay_due(10)
    sms = (await mock.get("/_mock/sms/13800000001")).json()
    assert sms["text"].startswith("【国家政务服务平台】您申请的“个体工商户设立登记”（办件编号330106-20261127-000001）已受理")
    push_stub = resources.push
    await _queued(resources, mock, channel="app", person="p_app", number="330106-20261127-000002")
    await resources.delivery.relay_due(10)
    alias = resources.notifications.push_alias("p_app")
    assert [p.link for p in push_stub.to(alias)] == ["govhub://applications/330106-20261127-000002"]


async def test_a_refused_consent_parks_the_delivery_for_an_operator(resources, mock):
    await _queued(resources, mock)
    await fault(mock, api="subscribe_send", times=1, errcode=43101)
    await resources.delivery.relay_due(10)
    delivery = await Delivery.get(kind="notify.wechat")
    assert delivery.status == "parked" and "43101" in delivery.parked_reason
    assert (await DeliveryAttempt.get(delivery_id=delivery.id)).outcome == "rejected"
    message = await Notification.get()
    assert (message.channel, message.outcome) == (None, "not_sent") and "拒收" in message.note
    assert not await Delivery.filter(kind="notify.sms").exists()  # the citizen asked for no SMS


async def test_a_message_wechat_refuses_goes_by_sms_when_the_citizen_asked_for_that(resources, mock):
    await _queued(resources, mock)  # consent granted: queued on WeChat
    notifications = resources.notifications
    await notifications.set_preferences(person_id="p_alice", channels={"wechat": True, "alipay": True, "app": True},
                                        sms_fallback=True)
    await fault(mock, api="subscribe_send", times=1, errcode=43101)
    relay = resources.delivery
    await relay.relay_due(10)  # WeChat refuses; an SMS takes its place
    await relay.relay_due(10)
    sms = (await mock.get("/_mock/sms/13800000001")).json()
    assert "330106-20261127-000001" in sms["text"]
    message = await Notification.get()
    assert (message.channel, message.outcome) == ("sms", "fallback") and message.note == "微信小程序拒收了该消息，已改发短信"
    assert message.sent_at is not None
    assert "已改发短信" in (await Delivery.get(kind="notify.wechat")).parked_reason
    assert await notifications.reroute_refused(message.id, "wechat") is None  # moved once only
