"""The scheduler job that announces topics switching themselves on and off: ticks cover time
without gaps (a mark in Redis), whichever host runs them."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from adapters.scheduler import jobs
from adapters.scheduler.runner import Job, run_once
from domain.shared.clock import FrozenClock
from domain.topics.service import TopicService
from tests.support.admins import TESTER
from tests.support.topics import MemoryFeed, topic_values

NOW = datetime(2026, 3, 1, 4, 0, tzinfo=UTC)


async def test_each_boundary_is_announced_once_even_after_a_pause(resources):
    clock, feed = FrozenClock(NOW), MemoryFeed()
    topics = TopicService(clock=clock, feed=feed)
    hub = replace(resources, clock=clock, topics=topics)
    await topics.create(actor=TESTER, **topic_values("yiqing", starts_at=NOW + timedelta(seconds=3),
                                                     ends_at=NOW + timedelta(seconds=60)))
    await topics.publish(actor=TESTER, code="yiqing")
    feed.published.clear()

    assert await jobs.announce_topic_boundaries(hub) == {"switched": []}
    clock.advance(5)
    assert await jobs.announce_topic_boundaries(hub) == {"switched": ["yiqing"]}  # it started
    clock.advance(5)
    assert await jobs.announce_topic_boundaries(hub) == {"switched": []}  # not twice
    clock.advance(120)  # the scheduler was down when it ended: the next tick still sees it
    assert await jobs.announce_topic_boundaries(hub) == {"switched": ["yiqing"]}
    assert [m["action"] for m in feed.published] == ["topic.schedule", "topic.schedule"]


async def test_the_job_is_a_registered_reference_and_runs_through_the_runner(resources):
    from bff.app import jobs as scheduled

    job = next(j for j in scheduled(resources.settings) if j.ref.endswith(":announce_topic_boundaries"))
    assert job.seconds == jobs.TOPIC_BOUNDARY_SECONDS
    hub = replace(resources, clock=FrozenClock(NOW), topics=TopicService(clock=FrozenClock(NOW)))
    now = NOW.timestamp() + 1  # one tick window, whatever the wall clock does between the two calls
    assert await run_once(Job(job.ref, job.seconds), hub, resources.redis.aio, now=now) is True
    assert await run_once(Job(job.ref, job.seconds), hub, resources.redis.aio, now=now) is False  # this tick's lock
