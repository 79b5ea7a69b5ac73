"""Revoked login families (adapters/cache/revocations.py) on the hub's Redis (fakeredis by default,
the real one in CI's second run): checks asked together share one trip — with the rate limit's
takes of the same turn — and are each answered exactly; a Redis failure fails every waiting check
closed, a command that fails only its asker."""
from __future__ import annotations

import asyncio
import uuid

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from adapters.cache.revocations import RedisSessionRevocations
from domain.shared.errors import UpstreamUnavailable


async def test_checks_asked_together_are_each_answered(resources):
    revocations = RedisSessionRevocations(resources.redis.aio, prefix=f"test:{uuid.uuid4().hex}:")
    families = [f"family-{i}" for i in range(40)]
    for family in families[::3]:
        await revocations.revoke(family, ttl_seconds=60)
    answers = await asyncio.gather(*(revocations.is_revoked(family) for family in families))
    assert answers == [i % 3 == 0 for i in range(40)]


async def test_a_revocation_is_seen_by_the_next_check(resources):
    revocations = RedisSessionRevocations(resources.redis.aio, prefix=f"test:{uuid.uuid4().hex}:")
    assert not await revocations.is_revoked("family")
    await revocations.revoke("family", ttl_seconds=60)
    assert await revocations.is_revoked("family")


async def test_an_unreachable_store_fails_every_waiting_check_closed():
    unreachable = _unreachable()
    revocations = RedisSessionRevocations(unreachable)
    try:
        answers = await asyncio.gather(*(revocations.is_revoked(f"family-{i}") for i in range(5)),
                                       return_exceptions=True)
        assert all(isinstance(answer, UpstreamUnavailable) for answer in answers), answers
        with pytest.raises(UpstreamUnavailable):  # and the next one tries again, and fails the same way
            await revocations.is_revoked("family")
    finally:
        await unreachable.aclose()


def _unreachable() -> aioredis.Redis:
    """Nothing listens on port 1; no retries, so the failure comes at once."""
    return aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))


async def test_checks_and_rate_limit_takes_of_one_turn_go_in_one_pipeline(resources):
    """adapters/cache/turn.py: a redis-py pipeline costs ~100 µs of CPU whatever it carries."""
    from adapters.cache.ratelimit import TokenBucketLimiter
    from adapters.cache.turn import TurnPipeline
    from tests.support.redis_pipelines import PipelineCounter

    client, prefix = resources.redis.aio, f"test:{uuid.uuid4().hex}:"
    counted = PipelineCounter(client)
    turn = TurnPipeline(counted)
    revocations = RedisSessionRevocations(client, prefix=prefix, turn=turn)
    limiter = TokenBucketLimiter(client, prefix=prefix, turn=turn)
    await revocations.revoke("gone", ttl_seconds=60)
    takes = [limiter.take_at("bucket", capacity=2, per_seconds=60, now=1e9) for _ in range(3)]
    answers = await asyncio.gather(revocations.is_revoked("gone"), revocations.is_revoked("here"), *takes)
    assert answers == [True, False, (True, 0.0), (True, 0.0), (False, 30.0)]
    assert len(counted.opened) == 1


async def test_a_command_that_fails_fails_only_its_asker(resources):
    from adapters.cache.turn import TurnPipeline

    turn, key = TurnPipeline(resources.redis.aio), f"test:{uuid.uuid4().hex}"
    bad, good = await asyncio.gather(turn.execute("EVAL", "return redis.call('NOSUCHCOMMAND')", 0),
                                     turn.execute("EXISTS", key), return_exceptions=True)
    assert isinstance(bad, Exception) and good == 0
