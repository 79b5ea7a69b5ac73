"""Pure decisions of notifications: which changes are messaged, on which channel, and the words.

- **Which changes.** Every status change is written to the citizen's message list. A change the
  citizen made themself (submit, resubmit, withdraw) is confirmed on the screen they made it on and
  is not pushed; every other change (the department's, the system's) is pushed. The changes of one
  instant (an instant approval: accepted, approved, completed at once) make one message, which
  says the latest: one consent is not spent on news that is already old when it arrives.
- **Which channel.** The one the citizen applied from, if their preferences allow it, they have an
  account there and — on the mini-programs — a consent to the template is left (WeChat's one-time
  subscriptions: one "accept", one message). Otherwise an SMS if they allowed SMS fallback and
  have a phone number. Otherwise the message stays in their list only, and says why.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.applications.rules import STATUS_NAMES
from domain.shared.clock import SHANGHAI

WECHAT, ALIPAY, APP, SMS = "wechat", "alipay", "app", "sms"
CHANNELS = (WECHAT, ALIPAY, APP)  # the channels a citizen applies from
MINI_PROGRAMS = (WECHAT, ALIPAY)  # where messages need the citizen's consent per template
KINDS = {WECHAT: "notify.wechat", ALIPAY: "notify.alipay", APP: "notify.push", SMS: "notify.sms"}
TARGETS = {WECHAT: "wechat", ALIPAY: "alipay", APP: "push", SMS: "sms"}  # the outbox's target column
CITIZEN_OWN = frozenset({"submit", "resubmit", "withdraw"})

# Notification.outcome
INBOX = "inbox"        # in the message list only: the citizen's own change
QUEUED = "queued"      # queued on the channel applied from
FALLBACK = "fallback"  # queued as an SMS instead
NOT_SENT = "not_sent"  # nowhere to send it: the note says why

MINI_PAGE = "pages/applications/detail?no={number}"  # what a subscribe message opens
APP_LINK = "govhub://applications/{number}"
SMS_SIGNATURE = "【国家政务服务平台】"

# WeChat subscribe-message value limits (thing: 20 characters, phrase: 5, character_string: 32)
THING_MAX, PHRASE_MAX, STRING_MAX = 20, 5, 32
ACCEPT, REJECT, BAN, FILTER = "accept", "reject", "ban", "filter"  # wx.requestSubscribeMessage results
GRANT_RESULTS = (ACCEPT, REJECT, BAN, FILTER)
MAX_REMAINING = 50  # one-time consents kept per template (more taps add nothing)


def in_order(number: str, message_id: int) -> dict:
    """Where a message's delivery stands in the outbox's order (docs/delivery.md, "Order"): the
    messages about one application go out in the order they were written, which is the order of
    its status changes (the application's changes are made one at a time, each writing its
    message in its own transaction); an SMS standing in for a refused message takes its place."""
    return {"ordering_key": f"notify:{number}", "ordering_position": message_id}


def pushes(transition: str) -> bool:
    """Is this change worth a message on a channel (not only in the list)?"""
    return transition not in CITIZEN_OWN


@dataclass(frozen=True)
class RouteFacts:
    applied_from: str
    allowed: frozenset[str]    # the channels the citizen allows
    has_account: bool          # an account (openid, user_id) on the channel applied from
    consent: bool              # a consent to the template is left (or it is long-term)
    sms_fallback: bool
    has_phone: bool


@dataclass(frozen=True)
class Route:
    channel: str | None  # where the message goes, or None
    outcome: str         # queued | fallback | not_sent
    note: str            # why, in plain Chinese (shown in the message list)


def route(facts: RouteFacts) -> Route:
    channel = facts.applied_from
    blocked = channel_blocked(facts)
    if blocked is None:
        return Route(channel, QUEUED, f"已通过{CHANNEL_NAMES[channel]}发送")
    return _instead(blocked, sms_fallback=facts.sms_fallback, has_phone=facts.has_phone)


def rerouted(refused_by: str, *, sms_fallback: bool, has_phone: bool) -> Route:
    """A channel refused a message it had taken in the queue (WeChat 43101: the consent it counts
    is used up, or the citizen refused it since)."""
    return _instead(f"{CHANNEL_NAMES[refused_by]}拒收了该消息", sms_fallback=sms_fallback, has_phone=has_phone)


def _instead(blocked: str, *, sms_fallback: bool, has_phone: bool) -> Route:
    """Where a message goes when its channel cannot carry it: an SMS, if the citizen asked for one."""
    if sms_fallback and has_phone:
        return Route(SMS, FALLBACK, f"{blocked}，已改发短信")
    if sms_fallback:
        return Route(None, NOT_SENT, f"{blocked}，且未绑定手机号，未发送")
    return Route(None, NOT_SENT, f"{blocked}，未开启短信提醒，未发送")


CHANNEL_NAMES = {WECHAT: "微信小程序", ALIPAY: "支付宝小程序", APP: "App推送", SMS: "短信"}


def channel_blocked(facts: RouteFacts) -> str | None:
    """Why the channel applied from cannot carry the message, or None when it can."""
    channel = facts.applied_from
    if channel not in CHANNELS:
        return "申请渠道不支持消息"
    if channel not in facts.allowed:
        return f"您已关闭{CHANNEL_NAMES[channel]}消息"
    if not facts.has_account:
        return f"未找到您的{CHANNEL_NAMES[channel]}账号"
    if channel in MINI_PROGRAMS and not facts.consent:
        return "您未订阅办件进度消息"
    return None


def granted(results: dict[str, str], known: str) -> tuple[int, bool]:
    """What a ``wx.requestSubscribeMessage`` result does to the consent of template ``known``:
    (consents added, revoked?). "accept" adds one; "ban" (the citizen switched the template off in
    WeChat's settings) revokes what is left; "reject" and "filter" change nothing."""
    result = results.get(known)
    if result == ACCEPT:
        return 1, False
    if result == BAN:
        return 0, True
    return 0, False


# --- the words -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Message:
    number: str
    matter_name: str
    status: str
    at: datetime
    reason: str | None
    due_on: date | None

    @property
    def status_name(self) -> str:
        return STATUS_NAMES.get(self.status, self.status)


def hint(m: Message) -> str:
    """The one line of advice a message carries."""
    reason = f"：{m.reason}" if m.reason else ""
    return {
        "submitted": "已提交，等待受理",
        "accepted": f"已受理，承诺{m.due_on:%m月%d日}前办结" if m.due_on else "已受理，请等待审查",
        "in_review": "正在审查，请耐心等待",
        "correction_requested": f"请按要求补正材料{reason}",
        "approved": "准予办理，即将办结",
        "refused": f"不予办理{reason}",
        "rejected": f"不予受理{reason}",
        "completed": "已办结，结果可在办件详情查看",
        "withdrawn": "申请已撤回",
    }.get(m.status, m.status_name)


def clip(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def beijing_time(at: datetime) -> str:
    local = at.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def wechat_data(m: Message) -> dict:
    """The 办件进度通知 template's fields (subscribe messages: typed keys, length-limited values)."""
    return {"character_string1": {"value": clip(m.number, STRING_MAX)},
            "thing2": {"value": clip(m.matter_name, THING_MAX)},
            "phrase3": {"value": clip(m.status_name, PHRASE_MAX)},
            "time4": {"value": beijing_time(m.at)},
            "thing5": {"value": clip(hint(m), THING_MAX)}}


def alipay_data(m: Message) -> dict:
    """The same template on Alipay (keywordN fields)."""
    return {"keyword1": {"value": m.number}, "keyword2": {"value": clip(m.matter_name, THING_MAX)},
            "keyword3": {"value": m.status_name}, "keyword4": {"value": beijing_time(m.at)},
            "keyword5": {"value": clip(hint(m), THING_MAX)}}


def push_content(m: Message) -> tuple[str, str, str]:
    """(title, body, link) of an app push."""
    return ("办件进度通知", f"您申请的“{clip(m.matter_name, THING_MAX)}”{hint(m)}",
            APP_LINK.format(number=m.number))


def sms_text(m: Message) -> str:
    return (f"{SMS_SIGNATURE}您申请的“{clip(m.matter_name, THING_MAX)}”（办件编号{m.number}）{hint(m)}。"
            "详情请登录国家政务服务平台查看。")
