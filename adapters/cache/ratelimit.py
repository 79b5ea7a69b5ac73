"""A token bucket in Redis, shared by every worker and host.

One Lua script refills and takes atomically, so concurrent workers never over-admit.

Every request of a limited route takes a token before anything else: one round trip each was
~8 % of a submit's time under load, most of it redis-py's own work per command. The takes asked
during one turn of the event loop go to Redis as one pipeline, with the revocation checks of that
turn (adapters/cache/turn.py), each its own take, in the order asked. As EVAL with the script's
text rather than EVALSHA: a pipeline does not load a script Redis lacks (after a restart, or on a
cluster node that never saw it) the way a lone call does, and Redis keeps the compiled script by
its hash either way.
"""
from __future__ import annotations

import time

import redis.asyncio as aioredis

from adapters.cache.turn import TurnPipeline

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
    def __init__(self, client: aioredis.Redis, prefix: str = "govhub:rl:", *,
                 turn: TurnPipeline | None = None) -> None:
        """``turn``: the process's shared pipeline of the turn (a pipeline of its own if not given);
        two takes from one bucket in a turn take two tokens."""
        self._prefix = prefix
        self._turn = turn or TurnPipeline(client)

    async def take(self, key: str, *, capacity: int, per_seconds: float) -> tuple[bool, float]:
        """Take one token from ``key``'s bucket (``capacity`` tokens refilled every ``per_seconds``).

        Returns (allowed, seconds to wait before the next token)."""
        return await self.take_at(key, capacity=capacity, per_seconds=per_seconds, now=time.time())

    async def take_at(self, key: str, *, capacity: int, per_seconds: float, now: float) -> tuple[bool, float]:
        """``take`` with this worker's clock reading ``now`` (epoch seconds)."""
        allowed, wait = await self._turn.execute("EVAL", _TAKE, 1, self._prefix + key, capacity,
                                                 capacity / per_seconds, now)
        return bool(int(allowed)), float(wait)
