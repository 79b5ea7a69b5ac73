"""Redis behind the catalog's ports: popularity counters and a small JSON cache."""
from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

from adapters.cache.turn import TurnPipeline

_VIEWS = "govhub:catalog:views"
_APPLICATIONS = "govhub:catalog:applications"


class RedisPopularityCounter:
    """HINCRBY per request (cheap, shared by all workers); ``drain`` renames the hashes away first,
    so counts that arrive while the job runs land in fresh hashes and are never lost or doubled.

    On a Redis Cluster, RENAME needs both names in one slot. The parked name's hash tag is the
    whole live name (``{govhub:catalog:views}:draining:<id>``), whose slot is the live key's own:
    the live keys keep their names, so nothing counted before an upgrade is stranded."""

    def __init__(self, client: aioredis.Redis, *, turn: TurnPipeline | None = None) -> None:
        """``turn``: the process's shared pipeline of the turn (adapters/cache/turn.py): the counts
        go with whatever else the turn sends, not as a pipeline of their own."""
        self._client = client
        self._turn = turn or TurnPipeline(client)

    async def count(self, *, matter_id: int, views: int = 0, applications: int = 0) -> None:
        await self._increments([(_VIEWS, matter_id, views), (_APPLICATIONS, matter_id, applications)])

    async def count_applications(self, counts: Mapping[int, int]) -> None:
        await self._increments([(_APPLICATIONS, matter_id, n) for matter_id, n in counts.items()])

    async def _increments(self, increments: list[tuple[str, int, int]]) -> None:
        await asyncio.gather(*(self._turn.execute("HINCRBY", key, str(matter_id), by)
                               for key, matter_id, by in increments if by))

    async def drain(self) -> dict[int, tuple[int, int]]:
        taken = {}
        for key in (_VIEWS, _APPLICATIONS):
            parked = _parked_name(key)
            try:
                await self._client.rename(key, parked)
            except aioredis.ResponseError:  # nothing counted since the last drain
                continue
            taken[key] = await self._client.hgetall(parked)
            await self._client.delete(parked)
        ids = set(taken.get(_VIEWS, {})) | set(taken.get(_APPLICATIONS, {}))
        return {int(i): (int(taken.get(_VIEWS, {}).get(i, 0)), int(taken.get(_APPLICATIONS, {}).get(i, 0))) for i in ids}


def _parked_name(key: str) -> str:
    """A name in ``key``'s cluster slot: the slot of ``{k}...`` is that of ``k``, and a name without
    braces hashes whole. (A key that held braces would hash by its own tag instead: none does.)"""
    return f"{{{key}}}:draining:{uuid.uuid4().hex}"


class RedisJsonCache:
    def __init__(self, client: aioredis.Redis, prefix: str = "govhub:cache:") -> None:
        self._client = client
        self._prefix = prefix

    async def get_json(self, key: str) -> Any | None:
        raw = await self._client.get(self._prefix + key)
        return json.loads(raw) if raw is not None else None

    async def set_json(self, key: str, value: Any, *, ttl_seconds: int) -> None:
        await self._client.set(self._prefix + key, json.dumps(value, ensure_ascii=False, default=str), ex=ttl_seconds)
