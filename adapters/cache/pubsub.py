"""Redis pub/sub as a change feed (``domain.topics.ports.ChangeFeed``) between hub instances.

Pub/sub ignores Redis's numbered databases: two hubs on ``/9`` and ``/12`` of one server would
hear each other. The channel therefore names the database (``govhub:12:topics:changed``): the
hubs that share data share a channel, and no others.

On a Redis Cluster there is only database 0 (``govhub:0:...``), and a PUBLISH reaches the
subscribers of every node (the cluster bus carries it): each subscription is made on one node, the
next node in turn after a failure, so a node that is down or gone does not keep a hub deaf.

Subscribing needs care, because a missed message means a stale page:
- every (re)subscription is reported (``on_subscribed``) from Redis's own confirmation, which
  also arrives when redis-py reconnects and resubscribes by itself, silently otherwise;
- a dropped connection is reported (``on_lost``) and retried with capped backoff, forever.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

from adapters.cache.redis import FAILURES, is_cluster
from domain.shared.errors import UpstreamUnavailable

log = logging.getLogger("govhub.pubsub")

BACKOFF = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0)  # seconds before each reconnection attempt, then the last again


def channel_name(client: aioredis.Redis, topic: str) -> str:
    db = 0 if is_cluster(client) else client.connection_pool.connection_kwargs.get("db", 0)
    return f"govhub:{db}:{topic}"


class RedisChangeFeed:
    def __init__(self, client: aioredis.Redis, topic: str = "topics:changed", *,
                 backoff: tuple[float, ...] = BACKOFF, poll_seconds: float = 5.0) -> None:
        self._client = client
        self.channel = channel_name(client, topic)
        self._backoff = backoff
        self._poll = poll_seconds
        self._attempts = 0  # subscriptions tried: on a cluster, which node the next one goes to

    async def publish(self, message: dict) -> None:
        try:
            await self._client.publish(self.channel, json.dumps(message, ensure_ascii=False))
        except FAILURES as exc:
            raise UpstreamUnavailable("change feed unavailable", system="redis",
                                      upstream_code=type(exc).__name__) from exc

    async def follow(self, *, on_message: Callable[[dict], None], on_subscribed: Callable[[], None],
                     on_lost: Callable[[], None]) -> None:
        failures = 0  # consecutive attempts that did not get a subscription
        while True:
            _stop_if_cancelled()
            pubsub = None
            try:
                pubsub = await self._pubsub()
                await pubsub.subscribe(self.channel)
                async for kind, data in self._messages(pubsub):
                    if kind == "subscribe":
                        log.info("subscribed to %s (after %d failed attempts)", self.channel, failures)
                        failures = 0
                        on_subscribed()
                    elif kind == "message":
                        on_message(_decode(data))
            except (*FAILURES, OSError) as exc:
                if failures == 0:  # once per outage, not once per retry
                    log.warning("change feed %s lost (%s); reconnecting", self.channel, type(exc).__name__)
                    on_lost()
            finally:
                if pubsub is not None:
                    await _close(pubsub)
            await asyncio.sleep(self._backoff[min(failures, len(self._backoff) - 1)])
            failures += 1

    async def _pubsub(self):
        self._attempts += 1
        if not is_cluster(self._client):
            return self._client.pubsub()
        await self._client.initialize()  # learns the nodes, the first time
        nodes = sorted(self._client.get_nodes(), key=lambda node: node.name)
        return self._client.pubsub(node=nodes[self._attempts % len(nodes)])

    async def _messages(self, pubsub):
        # get_message with a timeout, rather than listen(): the loop wakes up regularly, so a
        # half-open connection shows up as an error from the health check instead of silence.
        while True:
            message = await pubsub.get_message(ignore_subscribe_messages=False, timeout=self._poll)
            _stop_if_cancelled()
            if message is None:
                await pubsub.ping()
                continue
            yield message["type"], message["data"]


def _stop_if_cancelled() -> None:
    """Honour a cancellation the read swallowed. When ``cancel()`` lands as the read's own timeout
    expires, the timeout wins: the read returns "no message" (or a timeout error) and the
    cancellation is lost — the feed then polled forever, and a hub's shutdown (or the test
    session's end) waited on it for good. The task still counts the request (``cancelling``)."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _decode(data) -> dict:
    try:
        decoded = json.loads(data)
        return decoded if isinstance(decoded, dict) else {"data": decoded}
    except (TypeError, ValueError):
        return {"data": str(data)}


async def _close(pubsub) -> None:
    try:
        await pubsub.aclose()
    except (*FAILURES, OSError):
        pass  # the connection is already gone; nothing left to release
