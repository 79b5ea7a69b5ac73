"""The shared token bucket (adapters/cache/ratelimit.py) on the hub's Redis (fakeredis by default,
the real one in CI's second run): exactly ``capacity`` takes admitted whatever the takers' clocks."""
from __future__ import annotations

import asyncio
import uuid

from adapters.cache.ratelimit import TokenBucketLimiter

EPOCH = 1_800_000_000.0  # a fixed moment: the bucket only ever sees the clocks it is given


async def test_capacity_admitted_then_refused(resources):
    limiter, key = TokenBucketLimiter(resources.redis.aio), f"test:{uuid.uuid4().hex}"
    taken = [await limiter.take_at(key, capacity=5, per_seconds=3600, now=EPOCH) for _ in range(7)]
    assert [allowed for allowed, _ in taken] == [True] * 5 + [False] * 2
    assert taken[-1][1] == 720.0  # one token every 720 s


async def test_a_worker_whose_clock_is_a_little_behind_takes_nothing_away(resources):
    # CI saw 4 of 5 admitted: two workers' clocks a millisecond apart made the refill negative
    limiter, key = TokenBucketLimiter(resources.redis.aio), f"test:{uuid.uuid4().hex}"
    clocks = [EPOCH + 0.002] + [EPOCH + 0.001] * 11  # one worker's take, then another's, 1 ms behind
    admitted = [(await limiter.take_at(key, capacity=5, per_seconds=3600, now=now))[0] for now in clocks]
    assert sum(admitted) == 5
    latest = EPOCH + 0.002
    assert not (await limiter.take_at(key, capacity=5, per_seconds=3600, now=latest + 719.9))[0]
    assert (await limiter.take_at(key, capacity=5, per_seconds=3600, now=latest + 720.1))[0]


async def test_takes_asked_at_once_go_together_and_each_takes_its_own_token(resources):
    # One pipeline per turn of the event loop: two takes from one bucket must still take two.
    limiter, key = TokenBucketLimiter(resources.redis.aio), f"test:{uuid.uuid4().hex}"
    other = f"test:{uuid.uuid4().hex}"
    taken = await asyncio.gather(*(limiter.take_at(bucket, capacity=5, per_seconds=3600, now=EPOCH)
                                   for bucket in [key] * 7 + [other]))
    assert [allowed for allowed, _ in taken] == [True] * 5 + [False] * 2 + [True]
    assert [wait for _, wait in taken[5:7]] == [720.0, 720.0]
