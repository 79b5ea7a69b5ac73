"""Which requests may read from the replica, and read-your-writes across instances.

Made by ``for_settings`` only when a replica is configured (``GOVHUB_DATABASE_REPLICA_URL``);
without one the hub runs none of this. The hub's request cycle (bff/common/request_cycle.py) calls
it on every request, which sets ``read_replica.replica_reads``:

- True only for a GET (or HEAD) of a public reading route (``PUBLIC_READS``: catalog search and
  detail, home, bundle declarations, topics, regions, figures, license types) — never the admin
  API, the console, a citizen's own data, a department's call, nor anything that checks trust or
  revocation (trust lists, status lists, health-code lists: those must be as fresh as the primary);
- and not for a person who made a write in the last ``stickiness`` seconds: every non-GET request
  of a signed-in person leaves a marker in Redis (``govhub:replica:wrote:<person>``) that expires
  by itself; while it is there, that person's reads all go to the primary, on every instance.

Why a Redis marker and not a claim in the token or a cookie: the token cannot change after a write
without issuing a new one, mini-programs keep no cookies, a person writes from one device and reads
from another, and any instance must know. A marker costs one Redis round trip per write and one
per signed-in public read, only when a replica is configured. If Redis does not answer, the
request reads from the primary: the marker's absence is never assumed.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
from functools import lru_cache

from redis.exceptions import RedisClusterException, RedisError
from sanic import Request

from bff.read_replica import replica_reads
from bff.replica_health import stickiness
from bff.settings import Settings

log = logging.getLogger("govhub.replica")

CHANNELS = frozenset({"wechat", "alipay", "app"})
CHANNEL_READS = frozenset({"home", "search", "matter", "bundle_list", "bundle_describe"})
PUBLIC_READS = frozenset({
    ("public_topics", "published"), ("public_topics", "topic"),
    ("regions", "regions"), ("regions", "region"), ("regions", "children"), ("regions", "departments"),
    ("regions", "zones"), ("public_figures", "figures"), ("public_verify", "license_types"),
})
SAFE_METHODS = frozenset({"GET", "HEAD"})
MARKER = "govhub:replica:wrote:"
REDIS_FAILURES = (RedisError, RedisClusterException, OSError)  # a cluster's "no node" is not a RedisError


@lru_cache(maxsize=1024)
def public_read(route_name: str) -> bool:
    """``govhub.wechat.search`` -> True: a route whose reads may come from the replica."""
    parts = route_name.split(".")
    if len(parts) < 3:
        return False
    blueprint, handler = parts[-2], parts[-1]
    return (blueprint in CHANNELS and handler in CHANNEL_READS) or (blueprint, handler) in PUBLIC_READS


def unverified_subject(authorization: str) -> str | None:
    """The ``sub`` of a bearer JWT, unverified: it only chooses where this request reads from (the
    route still verifies the token). A forged one can only send its own reads to the primary."""
    scheme, _, token = authorization.partition(" ")
    parts = token.strip().split(".")
    if scheme.lower() != "bearer" or len(parts) != 3 or len(parts[1]) > 2048:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    subject = payload.get("sub") if isinstance(payload, dict) else None
    return subject if isinstance(subject, str) and 0 < len(subject) <= 64 else None


class ReadRouting:
    def __init__(self, sticky_ms: int) -> None:
        self.sticky_ms = sticky_ms

    async def choose_reads(self, request: Request) -> None:
        # set on every request: Sanic serves a keep-alive connection's requests in one task
        replica_reads.set(await _may_read_replica(request))

    async def remember_write(self, request: Request) -> None:
        if request.method in SAFE_METHODS:
            return
        auth = getattr(request.ctx, "auth", None)
        subject = getattr(auth, "subject", None) or unverified_subject(request.headers.get("authorization", ""))
        if subject is None:
            return
        try:
            await request.app.ctx.redis.aio.set(MARKER + subject, "1", px=self.sticky_ms)
        except REDIS_FAILURES as exc:  # the write is done; its reads may be stale for max_lag at worst
            log.warning("read-your-writes marker not set for a write (%s)", type(exc).__name__)


def for_settings(settings: Settings) -> ReadRouting | None:
    """The read routing of a hub with a replica; None without one."""
    if not settings.database_replica_url:
        return None
    return ReadRouting(int(stickiness(settings.database_replica_max_lag_ms / 1000) * 1000))


async def _may_read_replica(request: Request) -> bool:
    route = request.route
    if request.method not in SAFE_METHODS or route is None or not public_read(route.name):
        return False
    subject = unverified_subject(request.headers.get("authorization", ""))
    if subject is None:
        return True
    try:
        return not await request.app.ctx.redis.aio.exists(MARKER + subject)
    except REDIS_FAILURES:  # cannot tell whether this person just wrote: read from the primary
        return False
