"""Citizens' reads: the cache answers between changes and lets go at every change, here or elsewhere."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from domain.shared.clock import FrozenClock
from domain.shared.errors import InvalidInput
from domain.topics.errors import TopicNotFound
from domain.topics.models import Topic
from domain.topics.service import TopicService
from tests.support.admins import TESTER
from tests.support.topics import MemoryFeed, topic_values

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


@pytest.fixture
async def feed():
    return MemoryFeed()


@pytest.fixture
async def topics(resources, feed):
    service = TopicService(clock=FrozenClock(NOW), feed=feed)
    following = asyncio.create_task(service.follow_changes())
    await asyncio.sleep(0)  # let it subscribe
    yield service
    following.cancel()


async def _publish(topics, code):
    await topics.create(actor=TESTER, **topic_values(code))
    await topics.publish(actor=TESTER, code=code)


async def _read(topics):
    lookup = await topics.lookup_published(channel="wechat", region_code=None)
    return [t.code for t in lookup.topics], lookup.from_cache


async def test_a_miss_then_hits_and_a_local_change_is_seen_at_once(topics):
    await _publish(topics, "aa")
    assert await _read(topics) == (["aa"], False)
    assert await _read(topics) == (["aa"], True)
    await _publish(topics, "bb")
    assert await _read(topics) == (["aa", "bb"], False)


async def test_a_message_from_another_instance_drops_the_cache(topics, feed):
    await _publish(topics, "aa")
    await _read(topics)
    await Topic.filter(code="aa").update(status="offline")  # as if another instance did it
    assert await _read(topics) == (["aa"], True)  # stale until told: that is what the feed is for
    generation = topics.generation
    feed.deliver({"topic": "aa", "action": "topic.offline", "origin": topics._origin})
    assert topics.generation == generation  # its own echo: it dropped the cache at commit already
    feed.deliver({"topic": "aa", "action": "topic.offline", "origin": "another-instance"})
    assert topics.generation == generation + 1
    assert await _read(topics) == ([], False)


async def test_without_the_feed_every_read_goes_to_the_database(topics, feed):
    await _publish(topics, "aa")
    await _read(topics)
    feed.drop()
    assert await _read(topics) == (["aa"], False)
    assert await _read(topics) == (["aa"], False)
    feed.resubscribe()
    assert await _read(topics) == (["aa"], False)
    assert await _read(topics) == (["aa"], True)


async def test_concurrent_misses_share_one_query(topics, monkeypatch):
    await _publish(topics, "aa")
    reads = 0
    original = TopicService._read

    async def counted():
        nonlocal reads
        reads += 1
        await asyncio.sleep(0.01)
        return await original()

    monkeypatch.setattr(TopicService, "_read", staticmethod(counted))
    results = await asyncio.gather(*(_read(topics) for _ in range(20)))
    assert reads == 1 and all(codes == ["aa"] for codes, _ in results)


async def test_get_published_and_bad_audiences(topics):
    await _publish(topics, "aa")
    assert (await topics.get_published("aa", channel="wechat", region_code="330106000000")).code == "aa"
    with pytest.raises(TopicNotFound):
        await topics.get_published("aa", channel="alipay", region_code=None)
    for channel, region in (("douyin", None), ("wechat", "33")):
        with pytest.raises(InvalidInput):
            await topics.published(channel=channel, region_code=region)
