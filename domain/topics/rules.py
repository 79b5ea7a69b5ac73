"""Pure rules of service topics: what a valid topic is, its life cycle, and who sees it when.

No I/O: values in, decisions out, so the rules that decide what millions of citizens see on
their home page are tested without a database.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

CHANNELS = ("wechat", "alipay", "app", "pc")
STATUSES = ("draft", "published", "offline")
ENTRY_KINDS = ("matter", "bundle", "link")
# draft -> published -> offline -> published ... ; only a draft that never went out is deleted
TRANSITIONS = {("draft", "published"), ("published", "offline"), ("offline", "published")}
REGION_LEVELS = (2, 4, 6, 9)  # province, city, county, township prefixes of a 12-digit code

MAX_ENTRIES = 50
_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")  # a matter or bundle code
_REGION = re.compile(r"^\d{12}$")

# Why a topic is not shown, in the order a product team would want to fix them.
REASONS = {
    "not_published": "专题尚未发布或已下线",
    "channel_not_targeted": "专题未在该渠道展示",
    "region_not_targeted": "专题未面向该地区",
    "not_started": "专题尚未到开始时间",
    "ended": "专题已过结束时间",
}


class Targeted(Protocol):
    """What visibility needs to know of a topic (a TopicView has it all)."""

    status: str
    channels: Sequence[str]
    regions: Sequence[str]
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True)
class Visibility:
    visible: bool
    reasons: tuple[str, ...]  # keys of REASONS; empty when visible


def region_ancestors(region_code: str) -> tuple[str, ...]:
    """The code itself and the codes of the divisions containing it: its 2/4/6/9-digit prefixes
    padded with zeros (``330106001000`` -> 330000000000, 330100000000, 330106000000, ...)."""
    found = [region_code[:n].ljust(12, "0") for n in REGION_LEVELS] + [region_code]
    return tuple(dict.fromkeys(found))  # in order, once each (a county's 9-digit prefix is itself)


def targets_region(regions: Sequence[str], region_code: str | None) -> bool:
    """An empty target list means nationwide; otherwise the citizen's region must lie inside one
    of the targets. A citizen of unknown region sees nationwide topics only."""
    if not regions:
        return True
    if region_code is None:
        return False
    return bool(set(regions) & set(region_ancestors(region_code)))


def visibility(topic: Targeted, channel: str, region_code: str | None, now: datetime) -> Visibility:
    reasons = []
    if topic.status != "published":
        reasons.append("not_published")
    if channel not in topic.channels:
        reasons.append("channel_not_targeted")
    if not targets_region(topic.regions, region_code):
        reasons.append("region_not_targeted")
    if topic.starts_at is not None and now < topic.starts_at:
        reasons.append("not_started")
    if topic.ends_at is not None and now >= topic.ends_at:
        reasons.append("ended")
    return Visibility(not reasons, tuple(reasons))


def transition_refusal(current: str, target: str) -> str | None:
    """None when ``current -> target`` is allowed, else why not (Chinese, for the editor)."""
    if current == target:
        return f"专题已是{target}状态"
    if (current, target) not in TRANSITIONS:
        return f"专题不能从{current}变为{target}"
    return None


def boundary_passed(starts_at: datetime | None, ends_at: datetime | None, since: datetime,
                    until: datetime) -> bool:
    """Did the topic switch itself on or off in (since, until]?"""
    return any(moment is not None and since < moment <= until for moment in (starts_at, ends_at))


def region_code_problem(code: object) -> str | None:
    if not isinstance(code, str) or not _REGION.match(code):
        return "地区代码应为12位数字"
    segments = [code[a:b] for a, b in zip((0, *REGION_LEVELS), (*REGION_LEVELS, 12), strict=True)]
    if int(segments[0]) == 0:
        return "地区代码的省级部分不能为00"
    # After a zero level every lower level is zero: 330006000000 names no division.
    first_zero = next((i for i, s in enumerate(segments) if int(s) == 0), len(segments))
    if any(int(s) for s in segments[first_zero:]):
        return "地区代码层级不连续"
    return None


def is_https_url(value: object, *, max_length: int = 500) -> bool:
    if not isinstance(value, str) or len(value) > max_length or any(c.isspace() for c in value):
        return False
    parts = urlsplit(value)
    return parts.scheme == "https" and bool(parts.hostname)


def entry_problems(entry: dict, index: int) -> list[dict]:
    field = f"entries.{index}"
    if not isinstance(entry, dict):
        return [{"field": field, "message": "应为对象"}]
    kind, ref, title, icon = (entry.get(k) for k in ("kind", "ref", "title", "icon"))
    problems = []
    if kind not in ENTRY_KINDS:
        problems.append({"field": f"{field}.kind", "message": "应为 matter、bundle 或 link"})
    elif kind == "link" and not is_https_url(ref):
        problems.append({"field": f"{field}.ref", "message": "链接应为 https 地址"})
    elif kind != "link" and not (isinstance(ref, str) and _REF.match(ref)):
        problems.append({"field": f"{field}.ref", "message": "应为事项或一件事的编码"})
    if title is not None and not (isinstance(title, str) and 1 <= len(title.strip()) <= 40):
        problems.append({"field": f"{field}.title", "message": "标题应为1到40个字符"})
    if kind == "link" and title is None:
        problems.append({"field": f"{field}.title", "message": "链接须有标题"})
    if icon is not None and not is_https_url(icon):
        problems.append({"field": f"{field}.icon", "message": "图标应为 https 地址"})
    return problems


def topic_problems(values: dict) -> list[dict]:
    """Problems with the fields present in ``values`` (a creation passes them all). A draft may
    be incomplete, never malformed."""
    problems = []
    checks = {
        "code": lambda v: isinstance(v, str) and bool(_CODE.match(v)),
        "title": lambda v: isinstance(v, str) and 1 <= len(v.strip()) <= 60,
        "subtitle": lambda v: v is None or (isinstance(v, str) and len(v) <= 120),
        "banner_url": lambda v: v is None or is_https_url(v),
        "weight": lambda v: isinstance(v, int) and -10_000 <= v <= 10_000,
    }
    messages = {"code": "应为2到64位小写字母、数字或-", "title": "标题应为1到60个字符",
                "subtitle": "副标题最多120个字符", "banner_url": "横幅图片应为 https 地址",
                "weight": "排序权重应为-10000到10000的整数"}
    for name, ok in checks.items():
        if name in values and not ok(values[name]):
            problems.append({"field": name, "message": messages[name]})
    if "channels" in values:
        problems += _channel_problems(values["channels"])
    if "regions" in values:
        problems += _region_problems(values["regions"])
    if "entries" in values:
        entries = values["entries"]
        if not isinstance(entries, list) or len(entries) > MAX_ENTRIES:
            problems.append({"field": "entries", "message": f"应为最多{MAX_ENTRIES}个入口的列表"})
        else:
            for index, entry in enumerate(entries):
                problems += entry_problems(entry, index)
    starts_at, ends_at = values.get("starts_at"), values.get("ends_at")
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        problems.append({"field": "ends_at", "message": "结束时间应晚于开始时间"})
    return problems


def publish_problems(values: dict) -> list[dict]:
    """A topic goes out only complete: shape as above, plus a title, an entry and a channel."""
    problems = topic_problems(values)
    if not values.get("entries"):
        problems.append({"field": "entries", "message": "发布前至少添加一个入口"})
    if not values.get("channels"):
        problems.append({"field": "channels", "message": "发布前至少选择一个展示渠道"})
    return problems


def reorder_problem(current_ids: Sequence[str], order: Iterable[str]) -> str | None:
    order = list(order)
    if sorted(order) != sorted(current_ids) or len(set(order)) != len(order):
        return "新顺序须恰好包含该专题现有的每个入口一次"
    return None


def _channel_problems(channels: object) -> list[dict]:
    if (not isinstance(channels, list) or any(c not in CHANNELS for c in channels)
            or len(set(channels)) != len(channels)):
        return [{"field": "channels", "message": "应为 wechat、alipay、app、pc 中不重复的若干项"}]
    return []


def _region_problems(regions: object) -> list[dict]:
    if not isinstance(regions, list) or len(regions) > 100:
        return [{"field": "regions", "message": "应为最多100个地区代码的列表"}]
    problems = [{"field": f"regions.{i}", "message": problem}
                for i, code in enumerate(regions) if (problem := region_code_problem(code))]
    if not problems and len(set(regions)) != len(regions):
        problems.append({"field": "regions", "message": "地区代码不能重复"})
    return problems
