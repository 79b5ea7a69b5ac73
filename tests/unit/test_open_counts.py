"""A citizen's open-applications count kept in the process (domain/applications/open_counts.py):
kept only while the feed vouches for it, forgotten on every change here or elsewhere, never kept
from a read that may have run before a change committed."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from domain.applications.open_counts import OpenCounts
from domain.applications.ports import TransitionNotice


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Feed:
    def __init__(self) -> None:
        self.published: list[dict] = []
        self.handlers: dict = {}

    async def publish(self, message: dict) -> None:
        self.published.append(message)

    async def follow(self, *, on_message, on_subscribed, on_lost) -> None:
        self.handlers = {"message": on_message, "subscribed": on_subscribed, "lost": on_lost}
        on_subscribed()
        await asyncio.Event().wait()


class Database:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.reads = 0

    async def count(self, person_ids: list[str]) -> dict[str, int]:
        self.reads += 1
        return {person: self.counts[person] for person in person_ids if person in self.counts}


def notice(person_id: str) -> TransitionNotice:
    return TransitionNotice(number="330100-20261206-000001", person_id=person_id, channel="wechat",
                            matter_name="事项", transition="submit", from_status=None, to_status="submitted",
                            at=datetime(2026, 12, 6, tzinfo=timezone.utc), reason=None, due_on=None, new=True)


async def _following(counts: OpenCounts) -> asyncio.Task:
    task = asyncio.create_task(counts.follow_changes())
    await asyncio.sleep(0)
    return task


async def test_kept_while_the_feed_is_subscribed_and_read_again_when_it_drops():
    db, clock, feed = Database(), Clock(), Feed()
    counts = OpenCounts(db.count, feed=feed, monotonic=clock)
    db.counts["p"] = 2
    assert await counts.get("p") == 2 and await counts.get("p") == 2
    assert db.reads == 2  # not subscribed yet: nothing kept
    following = await _following(counts)
    assert await counts.get("p") == 2 and await counts.get("p") == 2
    assert db.reads == 3
    feed.handlers["lost"]()
    assert await counts.get("p") == 2 and db.reads == 4
    assert await counts.get("p") == 2 and db.reads == 5
    following.cancel()


async def test_a_change_here_is_seen_at_once_and_told_to_the_others():
    db, clock, feed = Database(), Clock(), Feed()
    counts = OpenCounts(db.count, feed=feed, monotonic=clock, settle=2.0)
    following = await _following(counts)
    assert await counts.get("p") == 0
    db.counts["p"] = 1
    await counts.on_transitions([notice("p"), notice("p")], connection=None)
    assert await counts.get("p") == 1
    await asyncio.sleep(0)
    assert feed.published == [{"persons": ["p"], "origin": counts._origin}]
    following.cancel()


async def test_a_read_in_the_settle_window_is_not_kept():
    # listeners are told before the commit: a read then may see the count from before the change
    db, clock, feed = Database(), Clock(), Feed()
    counts = OpenCounts(db.count, feed=feed, monotonic=clock, settle=2.0)
    following = await _following(counts)
    await counts.on_transitions([notice("p")], connection=None)
    assert await counts.get("p") == 0  # read before the commit
    db.counts["p"] = 1  # the commit
    clock.now += 1.0
    assert await counts.get("p") == 1  # still within the window: read again, not the kept 0
    clock.now += 1.5
    assert await counts.get("p") == 1
    reads = db.reads
    assert await counts.get("p") == 1 and db.reads == reads  # past the window: kept
    following.cancel()


async def test_a_change_elsewhere_is_forgotten_here_and_our_own_echo_ignored():
    db, clock, feed = Database(), Clock(), Feed()
    counts = OpenCounts(db.count, feed=feed, monotonic=clock, settle=2.0)
    following = await _following(counts)
    assert await counts.get("p") == 0 and await counts.get("q") == 0
    db.counts.update(p=3, q=3)
    clock.now += 10
    feed.handlers["message"]({"persons": ["p"], "origin": "another-process"})
    feed.handlers["message"]({"persons": ["q"], "origin": counts._origin})
    feed.handlers["message"]({"persons": "not a list", "origin": "another-process"})
    assert await counts.get("p") == 3
    assert await counts.get("q") == 0  # our own announcement: forgotten when it was made, not again
    following.cancel()


async def test_a_kept_count_is_read_again_after_max_age():
    db, clock, feed = Database(), Clock(), Feed()
    counts = OpenCounts(db.count, feed=feed, monotonic=clock, max_age=60)
    following = await _following(counts)
    assert await counts.get("p") == 0
    db.counts["p"] = 4  # a change whose announcement was lost
    clock.now += 59
    assert await counts.get("p") == 0
    clock.now += 2
    assert await counts.get("p") == 4
    following.cancel()


async def test_without_a_feed_counts_are_kept_and_own_changes_forget_them():
    db, clock = Database(), Clock()
    counts = OpenCounts(db.count, feed=None, monotonic=clock, settle=2.0)
    assert await counts.get("p") == 0 and await counts.get("p") == 0 and db.reads == 1
    db.counts["p"] = 1
    await counts.on_transitions([notice("p")], connection=None)
    clock.now += 3
    assert await counts.get("p") == 1


async def test_citizens_asked_for_together_are_counted_by_one_read():
    db, clock, feed = Database(), Clock(), Feed()
    counts = OpenCounts(db.count, feed=feed, monotonic=clock)
    db.counts.update(p=1, q=2)
    assert await asyncio.gather(*(counts.get(person) for person in "pqrpq")) == [1, 2, 0, 1, 2]
    assert db.reads == 1
