"""The Redis change feed: messages arrive, a lost connection is reported and comes back by itself.

Runs on fakeredis always, and on the real Redis when GOVHUB_REDIS_URL is set (where the
connection is cut the way a network or a Redis restart cuts it: CLIENT KILL).
"""
from __future__ import annotations

import asyncio
import os
import uuid

import fakeredis
import pytest
import redis.asyncio as aioredis

from adapters.cache.pubsub import RedisChangeFeed
from domain.shared.errors import UpstreamUnavailable

REDIS_URL = os.environ.get("GOVHUB_REDIS_URL", "")
real_redis = pytest.mark.skipif(not REDIS_URL, reason="needs a real Redis (GOVHUB_REDIS_URL)")


class Recorder:
    def __init__(self) -> None:
        self.events: list = []

    def callbacks(self) -> dict:
        return {"on_message": lambda m: self.events.append(m), "on_subscribed": lambda: self.events.append("subscribed"),
                "on_lost": lambda: self.events.append("lost")}

    async def wait_for(self, predicate, timeout: float = 3.0) -> None:
        async def poll():
            while not predicate(self.events):
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)


async def _following(feed: RedisChangeFeed, recorder: Recorder) -> asyncio.Task:
    task = asyncio.create_task(feed.follow(**recorder.callbacks()))
    await recorder.wait_for(lambda events: "subscribed" in events)
    return task


async def _stopped(task: asyncio.Task) -> None:
    """Cancel a feed and see it end: a feed that outlives its cancel hangs a hub's shutdown."""
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=3)
    assert task in done and task.cancelled(), "the feed did not stop when cancelled"


class SwallowingPubSub:
    """A read whose timeout wins the race with a cancel: the cancel is lost, "no message" returned
    (what a read with a timeout can do when both land together)."""

    def __init__(self) -> None:
        self.reads = 0

    async def subscribe(self, channel: str) -> None:
        self.channel = channel

    async def get_message(self, ignore_subscribe_messages: bool, timeout: float):
        self.reads += 1
        if self.reads == 1:
            return {"type": "subscribe", "data": 1}
        try:
            await asyncio.sleep(timeout)
        except asyncio.CancelledError:
            return None
        return None

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


async def test_a_cancel_the_read_swallowed_still_stops_the_feed():
    pubsub = SwallowingPubSub()
    client = type("Client", (), {"pubsub": lambda self: pubsub,
                                 "connection_pool": type("Pool", (), {"connection_kwargs": {}})()})()
    recorder = Recorder()
    task = await _following(RedisChangeFeed(client, poll_seconds=0.05), recorder)
    await _stopped(task)


async def test_the_channel_names_the_database():
    client = aioredis.Redis(db=12)
    assert RedisChangeFeed(client).channel == "govhub:12:topics:changed"
    await client.aclose()


async def test_messages_arrive_and_a_lost_connection_comes_back_on_fakeredis():
    server = fakeredis.FakeServer()
    client = fakeredis.FakeAsyncRedis(server=server, decode_responses=True)
    feed, recorder = RedisChangeFeed(client, backoff=(0.01,), poll_seconds=0.05), Recorder()
    task = await _following(feed, recorder)
    try:
        await feed.publish({"topic": "jiuye"})
        await recorder.wait_for(lambda events: {"topic": "jiuye"} in events)
        server.connected = False
        await recorder.wait_for(lambda events: "lost" in events)
        with pytest.raises(UpstreamUnavailable):
            await feed.publish({"topic": "lost"})
        server.connected = True
        await recorder.wait_for(lambda events: events.count("subscribed") == 2)
        await feed.publish({"topic": "after"})
        await recorder.wait_for(lambda events: {"topic": "after"} in events)
        assert recorder.events.count("lost") == 1  # once per outage, however many retries
    finally:
        await _stopped(task)
        await client.aclose()


@real_redis
async def test_a_killed_connection_resubscribes_on_real_redis():
    name = f"govhub-feed-test-{uuid.uuid4().hex[:8]}"
    client = aioredis.from_url(REDIS_URL, decode_responses=True, client_name=name)
    admin = aioredis.from_url(REDIS_URL, decode_responses=True)
    feed, recorder = RedisChangeFeed(client, backoff=(0.01,), poll_seconds=0.2), Recorder()
    task = await _following(feed, recorder)
    try:
        mine = [c for c in await admin.client_list(_type="pubsub") if c.get("name") == name]
        assert len(mine) == 1
        await admin.client_kill_filter(_id=mine[0]["id"])
        # Either we see the drop or redis-py reconnects by itself; both end in a new subscription,
        # and that is what tells the cache to forget what it may have missed.
        await recorder.wait_for(lambda events: events.count("subscribed") == 2)
        await feed.publish({"topic": "after-kill"})
        await recorder.wait_for(lambda events: {"topic": "after-kill"} in events)
    finally:
        await _stopped(task)
        await client.aclose()
        await admin.aclose()
