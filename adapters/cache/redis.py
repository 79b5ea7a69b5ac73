"""Redis clients: one server or a Redis Cluster when a URL is set, an in-process fakeredis otherwise.

Both an asyncio client (the hub) and a synchronous one (wechatpy's token storage runs in a
thread) are returned, talking to the same data.

A cluster is named by the URL's scheme (docs/redis-cluster.md), as kombu names Sentinel
(``redis+sentinel://``): ``redis+cluster://host:port[,host:port...]`` (``rediss+cluster://`` for
TLS), every listed node a seed from which the client learns the others. Options after ``?`` are
redis-py's, as in a plain URL. A cluster has only database 0, so any other is refused.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio as aioredis
import redis.asyncio.cluster as aiocluster
import redis.cluster as synccluster

from adapters.cache.turn import TurnPipeline

log = logging.getLogger("govhub.redis")

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}


# what a Redis call may raise when Redis fails: redis-py's cluster client also raises
# RedisClusterException (no node reachable, a slot no node serves), which is not a RedisError
FAILURES = (redis.exceptions.RedisError, redis.exceptions.RedisClusterException)


class RedisUrlError(ValueError):
    """``GOVHUB_REDIS_URL`` cannot name what the hub would connect to, or names the wrong kind."""


@dataclass(frozen=True)
class ClusterUrl:
    seeds: tuple[tuple[str, int], ...]
    options_url: str  # redis[s]://[auth@]first-seed/0[?options]: what redis-py reads its options from


def parse_cluster_url(url: str) -> ClusterUrl | None:
    """The seeds and options of a ``redis+cluster://`` URL; None for any other URL."""
    parts = urlsplit(url)
    if parts.scheme not in CLUSTER_SCHEMES:
        return None
    auth, _, hosts = parts.netloc.rpartition("@")
    seeds = tuple(_seed(one) for one in hosts.split(",") if one.strip())
    if not seeds:
        raise RedisUrlError(f"{_safe(url)}: a Redis Cluster URL lists at least one node, "
                            "redis+cluster://host:port[,host:port...]")
    if parts.path.strip("/") not in ("", "0"):
        raise RedisUrlError(f"{_safe(url)}: a Redis Cluster has only database 0, not {parts.path.strip('/')!r}")
    host, port = seeds[0]
    host = f"[{host}]" if ":" in host else host
    options_url = f"{CLUSTER_SCHEMES[parts.scheme]}://{auth + '@' if auth else ''}{host}:{port}/0"
    return ClusterUrl(seeds=seeds, options_url=options_url + (f"?{parts.query}" if parts.query else ""))


def _seed(text: str) -> tuple[str, int]:
    text = text.strip()
    if text.startswith("["):  # [IPv6]:port
        host, _, rest = text[1:].partition("]")
        port = rest.removeprefix(":") or "6379"
    else:
        host, _, port = text.partition(":")
        port = port or "6379"
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise RedisUrlError(f"Redis Cluster node {text!r}: write it host:port")
    return unquote(host), int(port)


def _safe(url: str) -> str:
    """The URL without its password, for an error message."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "***", 1)
    return url


@dataclass
class RedisClients:
    aio: Any  # redis.asyncio.Redis, redis.asyncio.cluster.RedisCluster or fakeredis
    sync: Any  # redis.Redis, a lazily built redis.cluster.RedisCluster or fakeredis
    embedded: bool
    cluster: bool = False
    turn: TurnPipeline = field(init=False)  # each loop turn's commands of the request path, one pipeline

    def __post_init__(self) -> None:
        self.turn = TurnPipeline(self.aio)

    async def close(self) -> None:
        await self.aio.aclose()
        self.sync.close()

    async def check_kind(self) -> None:
        """Refuse a URL that names the other kind of Redis: a plain URL on a cluster node would work
        for the keys of that node's slots and fail with MOVED for the rest, by key, at random. An
        unreachable Redis is not refused here: the hub starts and its health check says so, as before."""
        if self.embedded:
            return
        try:
            enabled = int((await self.aio.info("cluster")).get("cluster_enabled", 0))
        except redis.exceptions.RedisClusterException as exc:  # the cluster client on a single server
            if "not enabled" in str(exc).lower():
                raise RedisUrlError("GOVHUB_REDIS_URL names a Redis Cluster (redis+cluster://) but the server "
                                    "is not in cluster mode: use redis://host:port/db") from exc
            log.warning("cannot tell the kind of Redis at start (%s): %s", type(exc).__name__, exc)
            return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as exc:
            log.warning("Redis unreachable at start (%s): its kind is not checked", type(exc).__name__)
            return
        if enabled and not self.cluster:
            raise RedisUrlError("GOVHUB_REDIS_URL names a node of a Redis Cluster (cluster_enabled:1): write it "
                                "redis+cluster://host:port[,host:port...] (docs/redis-cluster.md)")


def connect(url: str) -> RedisClients:
    if not url:
        return _embedded()
    cluster = parse_cluster_url(url)
    if cluster is None:
        return RedisClients(
            aio=aioredis.from_url(url, decode_responses=True),
            sync=redis.from_url(url, decode_responses=True),
            embedded=False,
        )
    return RedisClients(
        aio=aiocluster.RedisCluster.from_url(
            cluster.options_url, decode_responses=True,
            startup_nodes=[aiocluster.ClusterNode(host, port) for host, port in cluster.seeds[1:]]),
        sync=LazySyncCluster(cluster),
        embedded=False,
        cluster=True,
    )


def is_cluster(client: Any) -> bool:
    return isinstance(client, (aiocluster.RedisCluster, synccluster.RedisCluster, LazySyncCluster))


class LazySyncCluster:
    """The synchronous cluster client, built on first use. redis-py's sync ``RedisCluster``
    connects in its constructor, so building it at start would make the hub refuse to start
    while the cluster is down, where on one Redis it starts and reports Redis in its health check."""

    def __init__(self, cluster: ClusterUrl) -> None:
        self._cluster = cluster
        self._client: synccluster.RedisCluster | None = None
        self._lock = threading.Lock()  # wechatpy calls from several threads

    def client(self) -> synccluster.RedisCluster:
        with self._lock:
            if self._client is None:
                self._client = synccluster.RedisCluster.from_url(
                    self._cluster.options_url, decode_responses=True,
                    startup_nodes=[synccluster.ClusterNode(host, port) for host, port in self._cluster.seeds[1:]])
            return self._client

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client(), name)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


def _embedded() -> RedisClients:
    import fakeredis

    server = fakeredis.FakeServer()
    return RedisClients(
        aio=fakeredis.FakeAsyncRedis(server=server, decode_responses=True),
        sync=fakeredis.FakeRedis(server=server, decode_responses=True),
        embedded=True,
    )
