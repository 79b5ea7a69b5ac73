"""Revoked login families in Redis (``domain.identity.ports.SessionRevocations``).

One key per family, ``SET ... EX``: every worker and host sees a logout at once, and the entry
disappears by itself when the last access token it could concern has expired.

Every request with a token asks whether its family is revoked: at a few thousand requests a second
one round trip each was a fifth of a logged-in page's time, most of it redis-py's own work per
command. The checks asked during one turn of the event loop go to Redis together as one pipeline,
with the rate limiter's takes of that turn (adapters/cache/turn.py), each still answered from Redis
at the moment of asking.
"""
from __future__ import annotations

import redis.asyncio as aioredis

from adapters.cache.redis import FAILURES
from adapters.cache.turn import TurnPipeline
from domain.shared.errors import UpstreamUnavailable


class RedisSessionRevocations:
    def __init__(self, client: aioredis.Redis, prefix: str = "govhub:revoked-sid:", *,
                 turn: TurnPipeline | None = None) -> None:
        """``turn``: the process's shared pipeline of the turn (a pipeline of its own if not given)."""
        self._client = client
        self._prefix = prefix
        self._turn = turn or TurnPipeline(client)

    async def revoke(self, family_id: str, *, ttl_seconds: int) -> None:
        try:
            await self._client.set(self._prefix + family_id, "1", ex=max(1, int(ttl_seconds)))
        except FAILURES as exc:
            raise UpstreamUnavailable("无法记录登录注销", system="redis") from exc

    async def is_revoked(self, family_id: str) -> bool:
        # An unreachable store raises instead of answering "not revoked": guards fail closed.
        try:
            return bool(await self._turn.execute("EXISTS", self._prefix + family_id))
        except FAILURES as exc:
            raise UpstreamUnavailable("无法核对登录状态", system="redis") from exc
