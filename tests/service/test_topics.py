"""Topics on the database: life cycle, optimistic locking, audit, schedule and targeting."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.audit.models import AuditEntry
from domain.audit.service import AuditLog
from domain.topics import errors
from domain.topics.models import Topic
from domain.topics.service import TopicService
from tests.support.admins import TESTER
from tests.support.topics import MemoryFeed, topic_values

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)
pytestmark = pytest.mark.frozen_at(NOW)
XIHU = "330106000000"


@pytest.fixture
def feed():
    return MemoryFeed()


@pytest.fixture
def topics(resources, clock, feed):  # ``resources``: the migrated database, emptied before each test
    return TopicService(clock=clock, feed=feed)


async def _published(topics, code="jiuye", **values):
    await topics.create(actor=TESTER, **topic_values(code, **values))
    return await topics.publish(actor=TESTER, code=code)


async def test_life_cycle_draft_published_offline_published(topics, feed):
    draft = await topics.create(actor=TESTER, **topic_values("jiuye"))
    assert (draft.status, draft.version) == ("draft", 1) and feed.published == []  # drafts reach nobody
    live = await topics.publish(actor=TESTER, code="jiuye", version=1)
    assert (live.status, live.version, live.published_at) == ("published", 2, NOW)
    assert (await topics.take_offline(actor=TESTER, code="jiuye")).status == "offline"
    assert (await topics.publish(actor=TESTER, code="jiuye")).status == "published"
    assert [m["action"] for m in feed.published] == ["topic.publish", "topic.offline", "topic.publish"]
    actions = [e.action for e in reversed((await AuditLog.list()).entries)]
    assert actions == ["topic.create", "topic.publish", "topic.offline", "topic.publish"]


async def test_refused_transitions_and_deletes(topics):
    await topics.create(actor=TESTER, **topic_values("jiuye"))
    with pytest.raises(errors.TopicTransitionRefused):
        await topics.take_offline(actor=TESTER, code="jiuye")
    await topics.publish(actor=TESTER, code="jiuye")
    with pytest.raises(errors.TopicTransitionRefused):
        await topics.publish(actor=TESTER, code="jiuye")
    with pytest.raises(errors.TopicTransitionRefused):
        await topics.delete(actor=TESTER, code="jiuye")  # once published, only offline
    await topics.create(actor=TESTER, **topic_values("draft-only"))
    await topics.delete(actor=TESTER, code="draft-only")
    assert not await Topic.exists(code="draft-only")
    assert await AuditEntry.filter(action="topic.delete", target_id="draft-only").count() == 1


async def test_an_incomplete_topic_is_not_published(topics):
    await topics.create(actor=TESTER, code="kong", title="空专题")
    with pytest.raises(errors.TopicNotPublishable) as refused:
        await topics.publish(actor=TESTER, code="kong")
    assert {e["field"] for e in refused.value.extra["errors"]} == {"entries", "channels"}
    assert (await topics.get("kong")).status == "draft"


async def test_a_published_topic_stays_complete_a_draft_may_not(topics):
    await topics.create(actor=TESTER, **topic_values("draft"))
    await topics.update(actor=TESTER, code="draft", version=1, entries=[])
    await _published(topics)
    with pytest.raises(errors.TopicNotPublishable):
        await topics.update(actor=TESTER, code="jiuye", version=2, entries=[])
    with pytest.raises(errors.TopicInvalid):
        await topics.update(actor=TESTER, code="jiuye", version=2, code_name="x")  # not editable


async def test_optimistic_locking(topics):
    await topics.create(actor=TESTER, **topic_values("jiuye"))
    saved = await topics.update(actor=TESTER, code="jiuye", version=1, title="就业创业服务")
    assert saved.version == 2
    with pytest.raises(errors.TopicVersionConflict) as stale:
        await topics.update(actor=TESTER, code="jiuye", version=1, title="另一个标题")
    assert stale.value.extra == {"current_version": 2}
    with pytest.raises(errors.TopicVersionRequired):
        await topics.update(actor=TESTER, code="jiuye", version=None, title="没有版本号")
    with pytest.raises(errors.TopicVersionConflict):
        await topics.publish(actor=TESTER, code="jiuye", version=1)
    assert (await topics.get("jiuye")).title == "就业创业服务"


async def test_the_write_is_a_compare_and_set(topics, monkeypatch):
    """Two editors read version 1 at once: the second write finds the row moved on."""
    await topics.create(actor=TESTER, **topic_values("jiuye"))
    original = Topic.get_or_none

    async def read_then_someone_else_saves(*args, **kwargs):
        row = await original(*args, **kwargs)
        await Topic.filter(code="jiuye").update(version=2, title="别人改的")
        return row

    monkeypatch.setattr(Topic, "get_or_none", read_then_someone_else_saves)
    with pytest.raises(errors.TopicVersionConflict):
        await topics.update(actor=TESTER, code="jiuye", version=1, title="我改的")
    monkeypatch.undo()
    # The stand-in for the other editor ran on our transaction, so it rolled back with it.
    assert (await topics.get("jiuye")).title == "专题jiuye"
    assert await AuditEntry.filter(action="topic.update").count() == 0


async def test_a_change_and_its_audit_entry_commit_together(topics, feed, monkeypatch):
    await _published(topics)
    real_record = AuditLog.record

    async def record_then_fail(**kwargs):
        await real_record(**kwargs)
        raise RuntimeError("crash after the entry, before the commit")

    monkeypatch.setattr(AuditLog, "record", staticmethod(record_then_fail))
    with pytest.raises(RuntimeError):
        await topics.take_offline(actor=TESTER, code="jiuye")
    monkeypatch.undo()
    assert (await topics.get("jiuye")).status == "published"
    assert await AuditEntry.filter(action="topic.offline").count() == 0
    assert [m["action"] for m in feed.published] == ["topic.publish"]  # nothing announced either


async def test_reorder_entries(topics):
    await topics.create(actor=TESTER, **topic_values("jiuye", entries=3))
    ids = [e.id for e in (await topics.get("jiuye")).entries]
    reordered = await topics.reorder(actor=TESTER, code="jiuye", version=1, order=list(reversed(ids)))
    assert [e.id for e in reordered.entries] == list(reversed(ids))
    assert [e.ref for e in reordered.entries] == ["NAT-0003", "NAT-0002", "NAT-0001"]
    with pytest.raises(errors.TopicInvalid):
        await topics.reorder(actor=TESTER, code="jiuye", version=2, order=ids[:2])


async def test_entries_keep_their_ids_across_edits(topics):
    await topics.create(actor=TESTER, **topic_values("jiuye", entries=2))
    first, second = (await topics.get("jiuye")).entries
    edited = await topics.update(actor=TESTER, code="jiuye", version=1, entries=[
        {"id": second.id, "kind": "matter", "ref": "NAT-0002", "title": "改名"},
        {"kind": "link", "ref": "https://www.gov.cn/", "title": "中国政府网"}])
    assert edited.entries[0].id == second.id and edited.entries[1].id not in (first.id, second.id)


async def test_targeting_by_channel_and_region(topics):
    await _published(topics, "zhejiang", regions=["330000000000"], channels=["wechat", "app"])
    await _published(topics, "jiangsu", regions=["320000000000"])
    await _published(topics, "quanguo", weight=10, channels=["wechat", "alipay", "app", "pc"])

    async def codes(channel, region):
        return [t.code for t in await topics.published(channel=channel, region_code=region)]

    assert await codes("wechat", XIHU) == ["quanguo", "zhejiang"]  # weight first
    assert await codes("alipay", XIHU) == ["quanguo"]
    assert await codes("wechat", "320102000000") == ["quanguo", "jiangsu"]
    assert await codes("wechat", None) == ["quanguo"]


async def test_schedule_switches_topics_on_and_off_and_announces_it(topics, feed, clock):
    start, end = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    await _published(topics, "yiqing", starts_at=start, ends_at=end)
    feed.published.clear()

    async def shown_at(moment):
        return [t.code for t in await topics.published(channel="wechat", region_code=XIHU, now=moment)]

    assert await shown_at(NOW) == [] and await shown_at(start) == ["yiqing"] and await shown_at(end) == []
    assert await topics.announce_boundaries(since=NOW, until=start - timedelta(seconds=1)) == []
    assert await topics.announce_boundaries(since=start - timedelta(seconds=1), until=start) == ["yiqing"]
    assert await topics.announce_boundaries(since=start, until=end) == ["yiqing"]
    assert [(m["topics"], m["action"]) for m in feed.published] == [(["yiqing"], "topic.schedule")] * 2


async def test_preview_tells_why_a_topic_is_hidden(topics):
    await topics.create(actor=TESTER, **topic_values("jiuye", regions=["330000000000"],
                                                     starts_at=NOW + timedelta(days=1)))
    preview = await topics.preview("jiuye", channel="alipay", region_code="110101000000")
    assert preview.topic.code == "jiuye" and not preview.visibility.visible
    assert preview.visibility.reasons == ("not_published", "channel_not_targeted", "region_not_targeted",
                                          "not_started")
    later = await topics.preview("jiuye", channel="wechat", region_code=XIHU, at=NOW + timedelta(days=2))
    assert later.visibility.reasons == ("not_published",)


async def test_a_feed_outage_does_not_undo_a_committed_change(topics, feed):
    feed.broken = True
    assert (await _published(topics)).status == "published"
    assert (await topics.get("jiuye")).status == "published"
