"""The figures' counting at request time: a step of the hub's one response middleware
(bff/common/request_cycle.py), the only place it happens.

Every answered request is counted for its **route group** (``wx``, ``alipay``, ``app``, ``admin``,
``gov`` — the exchange's ``/r1`` included —, ``console``, ``public``, ``ops`` for probes and
``/metrics``, ``other`` for what matched no route): its duration bucket (the buckets of /metrics'
histogram) and whether it was a 5xx. A request on a citizen channel also counts its **visitor**
for the day and, for a page (home, search, a matter's detail answered 2xx/3xx), a **page view**.

The visitor is the citizen when the route verified their token; on a public page a bearer token's
subject is read without verifying it — it only keys a distinct count, never a decision, and a
caller can add visitors as easily by sending another device id; then the app's ``X-Device-Id``;
then the client's address and user agent. The figures service keys it with the vault's lookup key
before it leaves the process. Nothing is labelled per user, and nothing here waits on I/O
(domain/figures/service.py, adapters/cache/traffic.py).
"""
from __future__ import annotations

import logging

from sanic import Request

from bff.common.channels import CHANNELS
from bff.common.limits import client_ip
from bff.common.metrics import route_template
from bff.common.read_routing import unverified_subject

log = logging.getLogger("govhub.figures")

CHANNEL_OF_SEGMENT = {channel.prefix.strip("/").split("/")[0]: channel for channel in CHANNELS}
GROUP_OF_SEGMENT = {**{segment: segment for segment in CHANNEL_OF_SEGMENT}, "admin": "admin", "gov": "gov",
                    "r1": "gov", "console": "console", "public": "public", ".well-known": "public",
                    "docs": "public", "openapi.json": "public", "healthz": "ops", "readyz": "ops", "metrics": "ops"}
GROUPS = tuple(dict.fromkeys([*GROUP_OF_SEGMENT.values(), "other"]))
PAGES = ("/home", "/matters", "/matters/{code}")  # after the channel's prefix


def count(request: Request, status: int, seconds: float) -> None:
    """The answered request, counted for the figures; never raises (a figure is never worth a
    failed answer)."""
    try:
        _count(request, status, seconds)
    except Exception:
        log.exception("request not counted for the figures")


def _count(request: Request, status: int, seconds: float) -> None:
    figures = request.app.ctx.figures
    now = figures.clock.now()  # one reading for the request's hour and its visitor's day
    segment = request.path.lstrip("/").split("/", 1)[0]
    group = GROUP_OF_SEGMENT.get(segment, "other") if request.route else "other"
    figures.request_answered(group=group, seconds=seconds, status=status, at=now)
    channel = CHANNEL_OF_SEGMENT.get(segment)
    if channel is None or request.route is None or status >= 500:
        return
    page = request.method == "GET" and status < 400 and \
        route_template(request.route.path).removeprefix(channel.prefix) in PAGES
    figures.channel_visited(channel=channel.name, visitor=visitor_of(request), page_view=page, at=now)


def visitor_of(request: Request) -> str:
    auth = getattr(request.ctx, "auth", None)
    if auth is not None:
        return f"person:{auth.subject}"
    subject = unverified_subject(request.headers.get("Authorization", ""))
    if subject:
        return f"person:{subject}"
    device = request.headers.get("X-Device-Id", "")
    if 0 < len(device) <= 128:
        return f"device:{device}"
    return f"address:{client_ip(request)}|{request.headers.get('User-Agent', '')[:200]}"
