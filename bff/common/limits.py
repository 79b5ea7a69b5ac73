"""Rate limits on login, SMS and verification routes: a Redis token bucket shared by all workers."""
from __future__ import annotations

import math
from functools import lru_cache, wraps

from sanic import Request

from domain.shared.errors import RateLimited


def client_ip(request: Request) -> str:
    """The caller's address; behind the load balancer Sanic reads it from the forwarded headers
    it is configured to trust (PROXIES_COUNT / FORWARDED_SECRET / REAL_IP_HEADER). Trusting none,
    the peer's address, without Sanic parsing forwarding headers it would ignore (4 % of a kept
    home page's time: docs/benchmarks.md)."""
    if _trusts_a_proxy(request.app):
        return request.remote_addr or request.ip or "unknown"
    return request.ip or "unknown"


@lru_cache(maxsize=16)  # an app's trust is set from the environment when it is made; three reads of
def _trusts_a_proxy(app) -> bool:  # Sanic's config per request were 3 % of a kept home page's time
    config = app.config
    return bool(config.PROXIES_COUNT or config.FORWARDED_SECRET or config.REAL_IP_HEADER)


def rate_limited(name: str, *, capacity: int, per_seconds: float, by: str = "ip"):
    """Allow ``capacity`` calls per ``per_seconds`` per caller (``by``: "ip" or "person")."""

    def decorate(handler):
        @wraps(handler)
        async def limited(request: Request, *args, **kwargs):
            who = client_ip(request) if by == "ip" else request.ctx.auth.subject
            allowed, wait = await request.app.ctx.rate_limiter.take(
                f"{name}:{by}:{who}", capacity=capacity, per_seconds=per_seconds)
            if not allowed:
                raise RateLimited(f"请{math.ceil(wait)}秒后再试", retry_after=max(1, math.ceil(wait)))
            return await handler(request, *args, **kwargs)

        return limited

    return decorate


# The two doors to the admin accounts, the JSON login and the console's form, share one budget per
# address (the accounts' own lockout after five wrong passwords is the domain's, docs/admin.md).
admin_login_limited = rate_limited("admin-login", capacity=10, per_seconds=60)
