"""Pure topic rules: region ancestry, visibility by channel, region and time, life cycle, validation."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from domain.topics import rules

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
XIHU = "330106000000"  # 杭州市西湖区
XIHU_TOWNSHIP = "330106001000"


@dataclass
class FakeTopic:
    status: str = "published"
    channels: tuple = ("wechat", "alipay")
    regions: tuple = ()
    starts_at: datetime | None = None
    ends_at: datetime | None = None


def test_ancestors_are_the_padded_prefixes_and_the_code_itself():
    assert rules.region_ancestors(XIHU_TOWNSHIP) == ("330000000000", "330100000000", "330106000000", XIHU_TOWNSHIP)
    assert rules.region_ancestors("330000000000") == ("330000000000",)


@pytest.mark.parametrize(("targets", "region", "shown"), [
    ((), None, True),                               # nationwide, unknown citizen region
    ((), XIHU, True),                               # nationwide
    (("330000000000",), XIHU, True),                # the province contains the county
    (("330000000000",), XIHU_TOWNSHIP, True),       # ... and its townships
    (("330100000000",), XIHU, True),                # the city
    ((XIHU,), XIHU, True),                          # the region itself
    ((XIHU_TOWNSHIP,), XIHU, False),                # a township does not contain its county
    (("320000000000",), XIHU, False),               # another province
    (("330000000000",), None, False),               # unknown region sees only nationwide topics
    (("310000000000", "330000000000"), XIHU, True),  # any target will do
])
def test_region_targeting(targets, region, shown):
    assert rules.targets_region(targets, region) is shown


def test_a_published_targeted_topic_in_its_window_is_visible():
    topic = FakeTopic(regions=("330000000000",), starts_at=NOW - timedelta(days=1), ends_at=NOW + timedelta(days=1))
    assert rules.visibility(topic, "wechat", XIHU, NOW) == rules.Visibility(True, ())


@pytest.mark.parametrize(("changes", "channel", "reason"), [
    ({"status": "draft"}, "wechat", "not_published"),
    ({"status": "offline"}, "wechat", "not_published"),
    ({}, "app", "channel_not_targeted"),
    ({"regions": ("320000000000",)}, "wechat", "region_not_targeted"),
    ({"starts_at": NOW + timedelta(seconds=1)}, "wechat", "not_started"),
    ({"ends_at": NOW}, "wechat", "ended"),  # the end is exclusive: off at that very instant
])
def test_each_reason_a_topic_is_hidden(changes, channel, reason):
    topic = FakeTopic(**changes)
    assert rules.visibility(topic, channel, XIHU, NOW) == rules.Visibility(False, (reason,))


def test_the_start_is_inclusive_and_every_reason_is_listed():
    assert rules.visibility(FakeTopic(starts_at=NOW), "wechat", XIHU, NOW).visible
    hidden = rules.visibility(FakeTopic(status="draft", regions=("320000000000",), ends_at=NOW), "pc", XIHU, NOW)
    assert hidden.reasons == ("not_published", "channel_not_targeted", "region_not_targeted", "ended")


@pytest.mark.parametrize(("current", "target", "allowed"), [
    ("draft", "published", True), ("published", "offline", True), ("offline", "published", True),
    ("draft", "offline", False), ("published", "published", False), ("offline", "draft", False),
    ("published", "draft", False),
])
def test_transitions(current, target, allowed):
    assert (rules.transition_refusal(current, target) is None) is allowed


@pytest.mark.parametrize(("code", "ok"), [
    ("330106000000", True), ("110000000000", True), ("330106001001", True),
    ("33010600000", False), ("3301060000000", False), ("33010600000a", False), ("000000000000", False),
    ("330006000000", False),  # a county under a zero city: names no division
    ("330100000001", False),
])
def test_region_code_shape(code, ok):
    assert (rules.region_code_problem(code) is None) is ok


def _valid(**changes) -> dict:
    values = {"code": "jiuye", "title": "就业服务", "subtitle": None, "banner_url": "https://img.gov.cn/b.png",
              "entries": [{"kind": "matter", "ref": "NAT-0001", "title": None, "icon": None}],
              "channels": ["wechat"], "regions": [], "starts_at": None, "ends_at": None, "weight": 0}
    return {**values, **changes}


def test_a_complete_topic_may_be_published():
    assert rules.publish_problems(_valid()) == []


@pytest.mark.parametrize(("changes", "field"), [
    ({"entries": []}, "entries"),
    ({"channels": []}, "channels"),
    ({"title": " "}, "title"),
    ({"channels": ["wechat", "douyin"]}, "channels"),
    ({"channels": ["wechat", "wechat"]}, "channels"),
    ({"regions": ["3301"]}, "regions.0"),
    ({"regions": [XIHU, XIHU]}, "regions"),
    ({"starts_at": NOW, "ends_at": NOW}, "ends_at"),
    ({"banner_url": "http://img.gov.cn/b.png"}, "banner_url"),
    ({"code": "Has Spaces"}, "code"),
    ({"entries": [{"kind": "link", "ref": "https://www.gov.cn/", "title": None, "icon": None}]}, "entries.0.title"),
    ({"entries": [{"kind": "link", "ref": "javascript:alert(1)", "title": "x", "icon": None}]}, "entries.0.ref"),
    ({"entries": [{"kind": "matter", "ref": "NAT 1", "title": None, "icon": None}]}, "entries.0.ref"),
    ({"entries": [{"kind": "video", "ref": "x", "title": None, "icon": None}]}, "entries.0.kind"),
])
def test_what_keeps_a_topic_from_going_out(changes, field):
    assert field in [p["field"] for p in rules.publish_problems(_valid(**changes))]


def test_a_draft_may_be_incomplete_but_not_malformed():
    assert rules.topic_problems(_valid(entries=[], channels=[])) == []
    assert rules.topic_problems(_valid(entries=None))[0]["field"] == "entries"


def test_reorder_needs_a_permutation():
    assert rules.reorder_problem(["a", "b", "c"], ["c", "a", "b"]) is None
    for bad in (["a", "b"], ["a", "b", "c", "d"], ["a", "a", "b"], ["a", "b", "x"]):
        assert rules.reorder_problem(["a", "b", "c"], bad)


def test_boundaries_fall_in_a_half_open_window():
    since, until = NOW - timedelta(seconds=5), NOW
    assert rules.boundary_passed(NOW, None, since, until)
    assert rules.boundary_passed(None, since + timedelta(seconds=1), since, until)
    assert not rules.boundary_passed(since, None, since, until)  # belonged to the previous tick
    assert not rules.boundary_passed(NOW + timedelta(seconds=1), None, since, until)
    assert not rules.boundary_passed(None, None, since, until)
