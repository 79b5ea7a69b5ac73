"""The notification rules (pure): which changes are pushed, the channel route, consents, words."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.notifications import rules

AT = datetime(2026, 11, 27, 2, 5, tzinfo=UTC)


def _facts(**changes) -> rules.RouteFacts:
    values = {"applied_from": "wechat", "allowed": frozenset(rules.CHANNELS), "has_account": True, "consent": True,
              "sms_fallback": False, "has_phone": True}
    return rules.RouteFacts(**{**values, **changes})


def test_the_citizen_own_changes_are_not_pushed():
    assert [t for t in ("submit", "resubmit", "withdraw", "accept", "complete") if rules.pushes(t)] == [
        "accept", "complete"]


@pytest.mark.parametrize("changes, route", [
    ({}, ("wechat", "queued", "已通过微信小程序发送")),
    ({"consent": False}, (None, "not_sent", "您未订阅办件进度消息，未开启短信提醒，未发送")),
    ({"consent": False, "sms_fallback": True}, ("sms", "fallback", "您未订阅办件进度消息，已改发短信")),
    ({"consent": False, "sms_fallback": True, "has_phone": False},
     (None, "not_sent", "您未订阅办件进度消息，且未绑定手机号，未发送")),
    ({"allowed": frozenset({"app"}), "sms_fallback": True}, ("sms", "fallback", "您已关闭微信小程序消息，已改发短信")),
    ({"has_account": False}, (None, "not_sent", "未找到您的微信小程序账号，未开启短信提醒，未发送")),
    ({"applied_from": "app", "consent": False}, ("app", "queued", "已通过App推送发送")),  # the app needs no consent
])
def test_the_route_of_a_message(changes, route):
    chosen = rules.route(_facts(**changes))
    assert (chosen.channel, chosen.outcome, chosen.note) == route


def test_consent_results_of_request_subscribe_message():
    assert rules.granted({"T": "accept"}, "T") == (1, False)
    assert rules.granted({"T": "ban"}, "T") == (0, True)
    assert rules.granted({"T": "reject"}, "T") == rules.granted({"T": "filter"}, "T") == (0, False)


def test_wechat_values_keep_the_template_limits():
    message = rules.Message(number="330106-20261127-000001", matter_name="城乡居民基本养老保险待遇申领（跨省转移接续）",
                            status="correction_requested", at=AT, reason="请补充近三个月的银行流水和户口簿首页复印件",
                            due_on=None)
    data = rules.wechat_data(message)
    assert data["time4"]["value"] == "2026年11月27日 10:05"
    assert len(data["thing2"]["value"]) <= 20 and data["thing2"]["value"].endswith("…")
    assert len(data["thing5"]["value"]) <= 20 and len(data["phrase3"]["value"]) <= 5
    assert data["phrase3"]["value"] == "待补正"


def test_the_words_of_each_status():
    accepted = rules.Message("n", "失业登记", "accepted", AT, None, date(2026, 12, 2))
    assert rules.hint(accepted) == "已受理，承诺12月02日前办结"
    refused = rules.Message("n", "失业登记", "refused", AT, "材料不全", None)
    assert rules.hint(refused) == "不予办理：材料不全"
    assert rules.sms_text(refused) == ("【国家政务服务平台】您申请的“失业登记”（办件编号n）不予办理：材料不全。"
                                       "详情请登录国家政务服务平台查看。")
    assert rules.push_content(refused) == ("办件进度通知", "您申请的“失业登记”不予办理：材料不全", "govhub://applications/n")


def test_a_refused_message_goes_by_sms_only_when_the_citizen_asked_and_has_a_phone():
    assert rules.rerouted("wechat", sms_fallback=True, has_phone=True) == rules.Route(
        "sms", "fallback", "微信小程序拒收了该消息，已改发短信")
    assert rules.rerouted("alipay", sms_fallback=True, has_phone=False).outcome == "not_sent"
    assert rules.rerouted("wechat", sms_fallback=False, has_phone=True).note == "微信小程序拒收了该消息，未开启短信提醒，未发送"
