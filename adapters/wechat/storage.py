"""wechatpy's ``SessionStorage`` on Redis, so every worker on every host shares one access token.

WeChat hands out a limited number of access tokens per day and each new one from
``cgi-bin/token`` retires the previous one after a few minutes: workers fetching their own would
keep invalidating each other's.
"""

from __future__ import annotations

import json
from typing import Any

from wechatpy.session import SessionStorage


class RedisSessionStorage(SessionStorage):
    """Works with any redis-py style *sync* client: ``redis.Redis``, ``redis.cluster.RedisCluster``
    (through ``adapters.cache.redis.LazySyncCluster``) or ``fakeredis.FakeRedis``. Each call touches
    one key, so on a cluster no two keys need to share a slot.

    ``expiry_margin`` shortens stored lifetimes so that every worker, not only the one that
    fetched the token, stops using it a few minutes before WeChat does.
    """

    def __init__(self, redis: Any, prefix: str = "govhub:wechat:", *, expiry_margin: int = 300) -> None:
        self.redis = redis
        self.prefix = prefix
        self.expiry_margin = expiry_margin

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def get(self, key: str, default: Any = None) -> Any:
        raw = self.redis.get(self._key(key))
        if raw is None:
            return default
        # decode_responses may be on or off depending on how the client was built
        return json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        if value is None:
            return
        if ttl and ttl > 2 * self.expiry_margin:
            ttl -= self.expiry_margin
        self.redis.set(self._key(key), json.dumps(value), ex=ttl or None)

    def delete(self, key: str) -> None:
        self.redis.delete(self._key(key))
