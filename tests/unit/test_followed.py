"""A value kept while a change feed vouches for it (domain/shared/followed.py): the topics cache's
rules for one value — live only while subscribed, a load racing an invalidation is not kept, a
maximum age, one load for concurrent misses, its own echo ignored; without a feed, max age only."""
from __future__ import annotations

import asyncio

from domain.shared.errors import UpstreamUnavailable
from domain.shared.followed import Followed


class Loads:
    def __init__(self) -> None:
        self.count = 0
        self.gate: asyncio.Event | None = None

    async def __call__(self) -> int:
        self.count += 1
        if self.gate is not None:
            await self.gate.wait()
        return self.count


class Feed:
    """Records what is published; ``follow`` hands its callbacks to the test."""

    def __init__(self, down: bool = False) -> None:
        self.published: list[dict] = []
        self.callbacks: dict = {}
        self.down = down

    async def publish(self, message: dict) -> None:
        if self.down:
            raise UpstreamUnavailable("down", system="redis")
        self.published.append(message)

    async def follow(self, **callbacks) -> None:
        self.callbacks = callbacks


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def _followed(feed: Feed | None, clock: Clock | None = None, loads: Loads | None = None):
    loads = loads or Loads()
    value = Followed(loads, feed=feed, name="test", max_age=60, monotonic=clock or Clock())
    await value.follow()
    return value, loads


async def test_kept_only_while_subscribed():
    feed = Feed()
    value, loads = await _followed(feed)
    assert [await value.get(), await value.get()] == [1, 2]  # not subscribed yet: every read loads
    feed.callbacks["on_subscribed"]()
    assert [await value.get(), await value.get()] == [3, 3]
    feed.callbacks["on_lost"]()
    assert await value.get() == 4 and await value.get() == 5


async def test_a_message_from_elsewhere_drops_the_value_and_its_own_echo_does_not():
    feed = Feed()
    value, loads = await _followed(feed)
    feed.callbacks["on_subscribed"]()
    assert await value.get() == 1
    await value.announce({"action": "changed here"})  # dropped at once, published with its origin
    assert await value.get() == 2
    feed.callbacks["on_message"](feed.published[-1])  # the echo: the value loaded after it stays
    assert await value.get() == 2
    feed.callbacks["on_message"]({"action": "changed elsewhere", "origin": "another process"})
    assert await value.get() == 3


async def test_a_load_that_began_before_an_invalidation_is_not_kept():
    feed = Feed()
    value, loads = await _followed(feed)
    feed.callbacks["on_subscribed"]()
    loads.gate = asyncio.Event()
    reading = asyncio.create_task(value.get())
    await asyncio.sleep(0)
    value.invalidate()  # a change committed while the load was reading
    loads.gate.set()
    assert await reading == 1
    assert await value.get() == 2


async def test_concurrent_misses_share_one_load():
    feed = Feed()
    value, loads = await _followed(feed)
    feed.callbacks["on_subscribed"]()
    loads.gate = asyncio.Event()
    readers = [asyncio.create_task(value.get()) for _ in range(5)]
    await asyncio.sleep(0)
    loads.gate.set()
    assert await asyncio.gather(*readers) == [1] * 5 and loads.count == 1


async def test_a_value_older_than_max_age_is_loaded_again():
    feed, clock = Feed(), Clock()
    value, loads = await _followed(feed, clock)
    feed.callbacks["on_subscribed"]()
    assert await value.get() == 1
    clock.now = 60
    assert await value.get() == 1
    clock.now = 61
    assert await value.get() == 2


async def test_a_feed_outage_at_announce_is_logged_not_raised():
    value, loads = await _followed(Feed(down=True))
    await value.announce({"action": "changed"})
    assert value.generation == 1


async def test_without_a_feed_the_value_is_kept_for_max_age_and_own_changes_drop_it():
    clock = Clock()
    value, loads = await _followed(None, clock)
    assert [await value.get(), await value.get()] == [1, 1]
    await value.announce({"action": "changed"})
    assert await value.get() == 2
    clock.now = 61
    assert await value.get() == 3
