"""Used nonces of signed node requests, in Redis: one ``SET NX EX`` per request, shared by every
worker and host, so a replay is caught whichever worker it reaches."""
from __future__ import annotations

import redis.asyncio as aioredis

from adapters.cache.redis import FAILURES
from domain.shared.errors import UpstreamUnavailable


class RedisNonceStore:
    """Implements ``domain.nodes.ports.NonceStore``."""

    def __init__(self, client: aioredis.Redis, prefix: str = "govhub:nonce:") -> None:
        self._client = client
        self._prefix = prefix

    async def claim(self, node_code: str, nonce: str, ttl_seconds: int) -> bool:
        # Node codes and nonces cannot hold ":" (rules.py), so the key is unambiguous.
        key = f"{self._prefix}{node_code}:{nonce}"
        try:
            return bool(await self._client.set(key, "1", nx=True, ex=ttl_seconds))
        except FAILURES as exc:
            # Fail closed: without Redis the hub cannot tell a replay from a first request.
            raise UpstreamUnavailable("nonce store unavailable", system="redis",
                                      upstream_code=type(exc).__name__) from exc
