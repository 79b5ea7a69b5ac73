"""What the hub does around every request: one request middleware and one response middleware.

The hub's own steps were five middlewares in four modules, ordered by priorities that had to be
read together; here they are plain calls in the order they must happen, read in one place, and
Sanic runs two middlewares a request instead of five (each a call and an awaitable check of its
own; the throughput gain is within the benchmark's noise: docs/benchmarks.md, "Home throughput").
A blueprint's guard (a channel's login, a node's signature) stays the blueprint's own middleware:
it belongs to its routes only.

On the way in: the request timer (the duration /metrics and the figures report), the request id
for the logs, the body limit, and, with a replica, where this request may read from. On the way
out — also for an error's answer — the read-your-writes marker of a write, ``X-Request-Id``, the
request's entry in the tally that feeds the figures and /metrics (bff/common/traffic.py) and the
access line.
"""
from __future__ import annotations

import logging
import time

from sanic import Request, Sanic
from sanic.exceptions import PayloadTooLarge

from bff.common import logs, read_routing
from bff.settings import Settings

log = logging.getLogger("govhub.access")


def install(app: Sanic, settings: Settings) -> None:
    replica = read_routing.for_settings(settings)  # None: every read from the primary, nothing to choose

    @app.on_request(priority=100)
    async def begin(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        logs.request_id_var.set(str(request.id))
        _limit_body(request)
        if replica is not None:
            await replica.choose_reads(request)

    @app.on_response(priority=100)
    async def end(request: Request, response) -> None:
        if replica is not None:
            await replica.remember_write(request)
        response.headers["X-Request-Id"] = str(request.id)
        started = getattr(request.ctx, "started", None)  # unset: the request failed before ``begin``
        seconds = time.perf_counter() - started if started is not None else 0.0
        request.app.ctx.request_tally.count(request, response.status, seconds)  # figures, /metrics
        if log.isEnabledFor(logging.INFO):  # the access line's fields cost more than the check
            log.info("%s %s %s", request.method, request.path, response.status,
                     extra={"method": request.method, "path": request.path, "status": response.status,
                            "duration_ms": round(seconds * 1000, 2) if started else None})


def _limit_body(request: Request) -> None:
    """Under ASGI nothing else enforces REQUEST_MAX_SIZE. Sanic's own server finds an oversized
    body while reading it, but then runs the request middleware on its error path, where a
    blueprint's guard would answer 401 first: this check, in the app's first middleware, keeps
    the answer a 413 (tests/journeys/test_login_journeys.py). A streaming route that reads and
    limits its own body (uploads) is exempt."""
    if getattr(request.route.ctx, "own_body_limit", False) if request.route else False:
        return
    limit = request.app.config.REQUEST_MAX_SIZE
    declared = request.headers.get("content-length", "")
    if (declared.isdigit() and int(declared) > limit) or len(request.body or b"") > limit:
        raise PayloadTooLarge("提交的内容过大")
