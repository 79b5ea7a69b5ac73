"""Notification settings, consents and messages over HTTP on every channel, and an instant
approval submitted over HTTP with its checks in the detail, in plain Chinese."""
from __future__ import annotations

import pytest

from adapters.storage.local import LocalMaterialStore
from domain.delivery.models import Delivery
from domain.notifications.models import NotificationPreference, NotificationSubscription
from domain.notifications.service import Templates
from tests.support.citizens import ALICE, bearer, login_alipay, login_app, login_wechat, verify_real_name
from tests.support.instant import MATTER, good_form, setup_instant

CHANNELS = {"wechat": ("/wx/v1", login_wechat), "alipay": ("/alipay/v1", login_alipay), "app": ("/app/v1", login_app)}
ALL_ON = {"wechat": True, "alipay": True, "app": True}


async def _citizen(client, mock_url, channel="wechat", real_name=False) -> dict:
    prefix, login = CHANNELS[channel]
    session = await login(client, mock_url)
    if real_name:
        verified = await verify_real_name(client, prefix, session, ALICE)
        assert verified.status_code == 200, verified.text
        session = verified.json()["session"] or session
    headers = {**bearer(session), **({"X-Device-Id": "device-1"} if channel == "app" else {})}
    return {"prefix": prefix, "headers": headers}


@pytest.mark.parametrize("channel", list(CHANNELS))
async def test_preferences_read_and_replace_on_every_channel(client, mock_url, channel):
    who = await _citizen(client, mock_url, channel)
    url = f"{who['prefix']}/me/notification-preferences"
    first = (await client.get(url, headers=who["headers"])).json()
    assert first["channels"] == ALL_ON and first["sms_fallback"] is False
    assert ("push_alias" in first) == (channel == "app")
    assert (first["subscribe_template_id"] is None) == (channel == "app")
    put = await client.put(url, headers=who["headers"],
                           json={"channels": {**ALL_ON, channel: False}, "sms_fallback": True})
    assert put.status_code == 200, put.text
    again = (await client.get(url, headers=who["headers"])).json()
    assert again["channels"][channel] is False and again["sms_fallback"] is True


async def test_bad_preferences_are_refused_and_change_nothing(client, mock_url):
    who = await _citizen(client, mock_url)
    url = f"{who['prefix']}/me/notification-preferences"
    for body in ({"channels": {"wechat": True}, "sms_fallback": True},
                 {"channels": {**ALL_ON, "fax": True}, "sms_fallback": True},
                 {"channels": ALL_ON, "sms_fallback": "yes"}):
        refused = await client.put(url, headers=who["headers"], json=body)
        assert refused.status_code == 400 and refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "invalid_input" and refused.json()["errors"]
    assert await NotificationPreference.all().count() == 0
    assert (await client.get(url)).status_code == 401


async def test_a_consent_reported_after_request_subscribe_message_is_counted(client, mock_url):
    who = await _citizen(client, mock_url)
    template = Templates().wechat.id
    url = f"{who['prefix']}/me/subscriptions"
    for _ in range(2):
        answer = await client.post(url, headers=who["headers"], json={"results": {template: "accept"}})
        assert answer.status_code == 200, answer.text
    assert answer.json()["subscriptions"] == [{"template_id": template, "remaining": 2}]
    unknown = await client.post(url, headers=who["headers"], json={"results": {"not-ours": "accept"}})
    assert (unknown.status_code, unknown.json()["code"]) == (400, "subscription_template_unknown")
    odd = await client.post(url, headers=who["headers"], json={"results": {template: "maybe"}})
    assert odd.status_code == 400
    assert (await NotificationSubscription.get()).remaining == 2
    keyed = {**who["headers"], "Idempotency-Key": "dialog-7"}
    for _ in range(2):  # the mini-program retried the same report
        answer = await client.post(url, headers=keyed, json={"results": {template: "accept"}})
        assert answer.status_code == 200 and answer.json()["subscriptions"][0]["remaining"] == 3
    reused = await client.post(url, headers=keyed, json={"results": {template: "ban"}})
    assert (reused.status_code, reused.json()["code"]) == (409, "idempotency_key_reused")
    assert (await NotificationSubscription.get()).remaining == 3


async def test_alipay_reports_consents_and_the_app_has_no_such_route(client, mock_url):
    who = await _citizen(client, mock_url, "alipay")
    answer = await client.post(f"{who['prefix']}/me/subscriptions", headers=who["headers"],
                               json={"results": {Templates().alipay.id: "accept"}})
    assert answer.status_code == 200 and answer.json()["subscriptions"][0]["remaining"] == 1
    app = await _citizen(client, mock_url, "app")
    assert (await client.post("/app/v1/me/subscriptions", headers=app["headers"],
                               json={"results": {"x": "accept"}})).status_code == 404


@pytest.fixture
async def instant(resources, tmp_path):
    materials = resources.applications.materials
    kept, materials.store = materials.store, LocalMaterialStore(tmp_path)
    yield await setup_instant(resources)
    materials.store = kept


async def _upload(client, who):
    response = await client.post(f"{who['prefix']}/applications/materials", headers=who["headers"],
                                 files={"file": ("a.pdf", b"%PDF-1.7\n%%EOF\n", "application/pdf")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def test_instant_approval_over_http_shows_every_check_and_the_message(client, mock_url, instant):
    who = await _citizen(client, mock_url, real_name=True)
    await client.post(f"{who['prefix']}/me/subscriptions", headers=who["headers"],
                      json={"results": {Templates().wechat.id: "accept"}})
    body = {"matter_code": MATTER, "form": good_form(),
            "materials": [{"name": "居民身份证", "upload_id": await _upload(client, who)},
                          {"name": "经营场所使用证明", "upload_id": await _upload(client, who)}]}
    answer = await client.post(f"{who['prefix']}/applications", headers={**who["headers"], "Idempotency-Key": "ia-1"},
                               json=body)
    assert answer.status_code == 201, answer.text
    detail = answer.json()
    assert detail["status"] == "completed" and detail["status_name"] == "已办结"
    instant_approval = detail["instant_approval"]
    assert instant_approval["outcome"] == "approved" and instant_approval["summary"] == "已通过全部8项自动审查，即时办结"
    assert {c["result_name"] for c in instant_approval["checks"]} == {"通过"}
    assert instant_approval["credit_code"].startswith("92330106") and instant_approval["license_id"]
    wallet = (await client.get(f"{who['prefix']}/licenses", headers=who["headers"])).json()["items"]
    assert instant_approval["license_id"] in {item["id"] for item in wallet}
    messages = (await client.get(f"{who['prefix']}/me/notifications", headers=who["headers"])).json()["items"]
    assert [(m["status_name"], m["sent_via"]) for m in messages] == [("已办结", "wechat")]  # one message
    assert await Delivery.filter(kind="notify.wechat").count() == 1
    # a second application for the same name: to the examiner, and the citizen reads why
    body["form"] = good_form()
    body["materials"] = [{"name": "居民身份证", "upload_id": await _upload(client, who)},
                         {"name": "经营场所使用证明", "upload_id": await _upload(client, who)}]
    second = await client.post(f"{who['prefix']}/applications", headers={**who["headers"], "Idempotency-Key": "ia-2"},
                               json=body)
    checks = {c["rule"]: c for c in second.json()["instant_approval"]["checks"]}
    assert second.json()["status"] == "submitted"
    assert checks["name_available"]["result_name"] == "未通过"
    assert checks["name_available"]["message"] == "本辖区内已有登记名称“西湖区张丽鲜花店”"
