"""Redis clients: the real server when a URL is set, an in-process fakeredis otherwise.

Both an asyncio client (the hub) and a synchronous one (wechatpy's token storage runs in a
thread) are returned, talking to the same data.
"""
from __future__ import annotations

from dataclasses import dataclass

import redis
import redis.asyncio as aioredis


@dataclass
class RedisClients:
    aio: aioredis.Redis
    sync: redis.Redis
    embedded: bool

    async def close(self) -> None:
        await self.aio.aclose()
        self.sync.close()


def connect(url: str) -> RedisClients:
    if url:
        return RedisClients(
            aio=aioredis.from_url(url, decode_responses=True),
            sync=redis.from_url(url, decode_responses=True),
            embedded=False,
        )
    import fakeredis

    server = fakeredis.FakeServer()
    return RedisClients(
        aio=fakeredis.FakeAsyncRedis(server=server, decode_responses=True),
        sync=fakeredis.FakeRedis(server=server, decode_responses=True),
        embedded=True,
    )
