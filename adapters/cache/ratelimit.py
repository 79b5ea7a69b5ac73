"""A token bucket in Redis, shared by every worker and host.

One Lua script refills and takes atomically, so concurrent workers never over-admit.
"""
from __future__ import annotations

import time

import redis.asyncio as aioredis

_TAKE = """
local key = KEYS[1]
local capacity = tonumber(ARGV[1])
local refill_per_s = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local state = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
-- Workers send their own clocks: one a little behind the last taker's must neither take tokens
-- away (a negative refill left 0.99 of a token: refused) nor move the bucket's time back.
if now < at then now = at end
tokens = math.min(capacity, tokens + (now - at) * refill_per_s)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = (1 - tokens) / refill_per_s
end
redis.call('HSET', key, 'tokens', tokens, 'at', now)
redis.call('PEXPIRE', key, math.ceil(capacity / refill_per_s * 1000) + 1000)
return {allowed, tostring(wait)}
"""


class TokenBucketLimiter:
    def __init__(self, client: aioredis.Redis, prefix: str = "govhub:rl:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_TAKE)

    async def take(self, key: str, *, capacity: int, per_seconds: float) -> tuple[bool, float]:
        """Take one token from ``key``'s bucket (``capacity`` tokens refilled every ``per_seconds``).

        Returns (allowed, seconds to wait before the next token)."""
        return await self.take_at(key, capacity=capacity, per_seconds=per_seconds, now=time.time())

    async def take_at(self, key: str, *, capacity: int, per_seconds: float, now: float) -> tuple[bool, float]:
        """``take`` with this worker's clock reading ``now`` (epoch seconds)."""
        allowed, wait = await self._script(keys=[self._prefix + key], args=[capacity, capacity / per_seconds, now])
        return bool(int(allowed)), float(wait)
