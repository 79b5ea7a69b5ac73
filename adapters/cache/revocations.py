"""Revoked login families in Redis (``domain.identity.ports.SessionRevocations``).

One key per family, ``SET ... EX``: every worker and host sees a logout at once, and the entry
disappears by itself when the last access token it could concern has expired.

Every request with a token asks whether its family is revoked: at a few thousand requests a second
one round trip each was a fifth of a logged-in page's time, most of it redis-py's own work per
command. The checks asked while the event loop turns once go to Redis together, as one pipeline
(one round trip, each still answered from Redis at the moment of asking): under load dozens share a
trip, and a lone check waits for nothing but its own.
"""
from __future__ import annotations

import asyncio
import contextvars

import redis.asyncio as aioredis

from adapters.cache.redis import FAILURES
from domain.shared.errors import UpstreamUnavailable


class RedisSessionRevocations:
    def __init__(self, client: aioredis.Redis, prefix: str = "govhub:revoked-sid:") -> None:
        self._client = client
        self._prefix = prefix
        self._asked: list[tuple[str, asyncio.Future]] = []  # (key, its answer) waiting for the next trip
        self._trips: set[asyncio.Task] = set()

    async def revoke(self, family_id: str, *, ttl_seconds: int) -> None:
        try:
            await self._client.set(self._prefix + family_id, "1", ex=max(1, int(ttl_seconds)))
        except FAILURES as exc:
            raise UpstreamUnavailable("无法记录登录注销", system="redis") from exc

    async def is_revoked(self, family_id: str) -> bool:
        # An unreachable store raises instead of answering "not revoked": guards fail closed.
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        if not self._asked:  # the first to ask this turn sends every check asked by the turn's end
            loop.call_soon(self._send_asked, context=contextvars.Context())  # not in the asker's context
        self._asked.append((self._prefix + family_id, answer))
        return await answer

    def _send_asked(self) -> None:
        asked, self._asked = self._asked, []
        trip = asyncio.ensure_future(self._send(asked))
        self._trips.add(trip)  # a task nobody holds may be collected before it ends
        trip.add_done_callback(self._trips.discard)

    async def _send(self, asked: list[tuple[str, asyncio.Future]]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for key, _ in asked:
                    pipe.exists(key)
                found = await pipe.execute()
        except asyncio.CancelledError:
            for _, answer in asked:
                answer.cancel()
            raise
        except Exception as exc:  # every asker gets the failure; none waits for an answer that will not come
            for _, answer in asked:
                if not answer.done():
                    answer.set_exception(_unavailable(exc) if isinstance(exc, FAILURES) else exc)
            return
        for (_, answer), exists in zip(asked, found):
            if not answer.done():
                answer.set_result(bool(exists))


def _unavailable(cause: Exception) -> UpstreamUnavailable:
    error = UpstreamUnavailable("无法核对登录状态", system="redis")
    error.__cause__ = cause
    return error
