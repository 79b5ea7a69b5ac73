"""What every answered request leaves for the figures and for /metrics: one entry in the process's
request tally, a step of the hub's one response middleware (bff/common/request_cycle.py), the only
place requests are counted.

**Per request** the tally keeps only what cannot be read later: the matched route, the method, the
status, the duration's bucket and — on a citizen channel — who the visitor is, as the request
showed it. Requests alike add to one entry (a count and their summed seconds).

**Handed over** once a second, when an hour ends, at ``MAX_ENTRIES``, before /metrics renders and
before the figures are flushed or forgotten: each distinct entry, once, becomes /metrics' series
(bff/common/metrics.py) and the figures' counts (domain/figures/service.py). Working out the
route group, the channel, whether it was a page and the visitor's key per request, and adding to
the series per request, was a fifth of an anonymous home page's time (docs/benchmarks.md).

The figures count every answered request for its **route group** (``wx``, ``alipay``, ``app``,
``admin``, ``gov`` — the exchange's ``/r1`` included —, ``console``, ``public``, ``ops`` for probes
and ``/metrics``, ``other`` for what matched no route): its duration bucket (the buckets of /metrics'
histogram) and whether it was a 5xx. A request on a citizen channel also counts its **visitor** for
the day and, for a page (home, search, a matter's detail answered 2xx/3xx), a **page view**.

The visitor is the citizen when the route verified their token; on a public page a bearer token's
subject is read without verifying it — it only keys a distinct count, never a decision, and a
caller can add visitors as easily by sending another device id; then the app's ``X-Device-Id``;
then the client's address and user agent. The figures service keys it with the vault's lookup key
before it leaves the process. Nothing is labelled per user, and nothing here waits on I/O
(domain/figures/service.py, adapters/cache/traffic.py).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from functools import lru_cache

from sanic import Request

from bff.common import metrics
from bff.common.channels import CHANNELS, Channel
from bff.common.limits import client_ip
from bff.common.metrics import route_template
from bff.common.read_routing import unverified_subject
from domain.figures import rules
from domain.figures.service import FiguresService

log = logging.getLogger("govhub.figures")

CHANNEL_OF_SEGMENT = {channel.prefix.strip("/").split("/")[0]: channel for channel in CHANNELS}
GROUP_OF_SEGMENT = {**{segment: segment for segment in CHANNEL_OF_SEGMENT}, "admin": "admin", "gov": "gov",
                    "r1": "gov", "console": "console", "public": "public", ".well-known": "public",
                    "docs": "public", "openapi.json": "public", "healthz": "ops", "readyz": "ops", "metrics": "ops"}
PAGES = ("/home", "/matters", "/matters/{code}")  # after the channel's prefix

HAND_OVER_SECONDS = 1.0
MAX_ENTRIES = 10_000  # distinct entries kept before they are handed over at once

# what a request on a citizen channel shows of its visitor: the verified subject, or
# (Authorization, X-Device-Id, address, User-Agent) as sent
VisitorFacts = str | tuple[str, str, str, str]


class RequestTally:
    """The process's answered requests since they were last handed over, all within one UTC hour."""

    def __init__(self, figures: FiguresService) -> None:
        self._figures = figures
        self._entries: dict[tuple, list] = {}  # (route path, method, status, bucket, visitor) -> [n, seconds]
        self._hour: datetime | None = None  # the UTC hour the entries were answered in
        self._due: asyncio.TimerHandle | None = None
        self._due_loop: asyncio.AbstractEventLoop | None = None

    def count(self, request: Request, status: int, seconds: float) -> None:
        """The answered request, counted; never raises (a figure is never worth a failed answer)."""
        try:
            self._count(request, status, seconds)
        except Exception:
            log.exception("request not counted")

    def _count(self, request: Request, status: int, seconds: float) -> None:
        hour, _ = self._figures.periods(self._figures.clock.now())
        if hour != self._hour:  # the figures count per hour: an hour's own tally
            self.hand_over()
            self._hour = hour
        route = request.route
        path = route.path if route is not None else None
        visitor = _visitor_facts(request) if route_facts(path)[1] is not None else None
        key = (path, request.method, status, rules.bucket_index(seconds), visitor)
        entry = self._entries.get(key)
        if entry is not None:
            entry[0] += 1
            entry[1] += seconds
        else:
            self._entries[key] = [1, seconds]
            if len(self._entries) >= MAX_ENTRIES:
                self.hand_over()
                return
        loop = asyncio.get_running_loop()
        if self._due is None or self._due_loop is not loop:  # (a timer of a loop that ended never fires)
            self._due, self._due_loop = loop.call_later(HAND_OVER_SECONDS, self._hand_over_due), loop

    def _hand_over_due(self) -> None:
        self._due = None
        try:
            self.hand_over()
        except Exception:  # a timer's callback: an error would only reach the loop's handler
            log.exception("requests not handed over")

    def hand_over(self) -> None:
        """Every entry to /metrics' series and the figures' counts, once each."""
        if self._due is not None:
            self._due.cancel()
            self._due = None
        entries, self._entries = self._entries, {}
        at = self._hour
        for (path, method, status, bucket, visitor), (times, seconds) in entries.items():
            metrics.record_many(method, route_template(path) if path is not None else metrics.UNMATCHED, status,
                                bucket=bucket, times=times, seconds=seconds)
            group, channel, page = route_facts(path)
            self._figures.requests_answered(group=group, bucket=rules.BUCKET_NAMES[bucket], failed=status >= 500,
                                            times=times, at=at)
            if channel is not None and status < 500:
                page_views = times if page and method == "GET" and status < 400 else 0
                self._figures.channel_visited(channel=channel.name, visitor=visitor_of(visitor),
                                              page_views=page_views, at=at)


@lru_cache(maxsize=4096)  # one entry per route: the router's paths are finite
def route_facts(path: str | None) -> tuple[str, Channel | None, bool]:
    """A route's group, its citizen channel (None: not one), and whether it is a page; ``path``:
    Sanic's route path (``wx/v1/matters/<code:matter_code>``), None for what matched no route."""
    if path is None:
        return "other", None, False
    segment = path.lstrip("/").split("/", 1)[0]
    channel = CHANNEL_OF_SEGMENT.get(segment)
    page = channel is not None and route_template(path).removeprefix(channel.prefix) in PAGES
    return GROUP_OF_SEGMENT.get(segment, "other"), channel, page


def _visitor_facts(request: Request) -> VisitorFacts:
    auth = getattr(request.ctx, "auth", None)
    if auth is not None:
        return auth.subject
    headers = request.headers
    return (headers.get("Authorization", ""), headers.get("X-Device-Id", ""), client_ip(request),
            headers.get("User-Agent", ""))


def visitor_of(facts: VisitorFacts) -> str:
    """The visitor a request's facts name: a citizen, a device, or an address and user agent."""
    if isinstance(facts, str):
        return f"person:{facts}"
    authorization, device, address, user_agent = facts
    subject = unverified_subject(authorization) if authorization else None
    if subject:
        return f"person:{subject}"
    if 0 < len(device) <= 128:
        return f"device:{device}"
    return f"address:{address}|{user_agent[:200]}"
