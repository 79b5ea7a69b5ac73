"""The Sanic application: blueprints, listeners, error handlers and the request's context.

``create_app(settings)`` makes the app; at server start it builds the hub (``bff/container.py``,
the composition root) and puts its services on ``app.ctx`` (a typed ``HubContext``). Tests pass a
``hub`` already built so that one database and one Redis serve a whole test session.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import os
import secrets
import signal
from pathlib import Path
from types import SimpleNamespace

from sanic import Request, Sanic
from sanic.config import Config
from sanic.response import file, json
from sanic_ext import Extend, openapi as oas
from sanic_ext.extensions.http.extension import HTTPExtension
from sanic_ext.extensions.openapi.extension import OpenAPIExtension
from sanic_ext.extensions.templating.extension import TemplatingExtension

from adapters.scheduler import runner as scheduler
from adapters.scheduler.runner import Job
from bff import channel_blueprints, console, shutdown
from bff.admin import install as install_admin
from bff.common import errors, jsonio, logs, metrics, openapi, paths, request_cycle
from bff.container import Hub, HubContext, build_hub, close_hub
from bff.gov import install as install_gov
from bff.gov.housing_fund import bp as gov_housing_fund
from bff.public import health, health_codes, oidc, regions
from bff.public import figures as public_figures
from bff.public import topics as public_topics
from bff.public import verify as public_verify
from bff.settings import Settings

# sanic-ext's extensions the hub uses: the OpenAPI document and /docs, automatic HEAD/OPTIONS and CORS
# (only for configured origins), the console's Jinja2 templates. Not its dependency injection (no
# route asks for it): its signal ran on every request, ~6 % of a kept home page's time
# (docs/benchmarks.md, "Home throughput").
EXTENSIONS = [OpenAPIExtension, HTTPExtension, TemplatingExtension]


HubApp = Sanic[Config, HubContext]


def create_app(settings: Settings, *, hub: Hub | None = None, name: str = "govhub") -> HubApp:
    logs.configure(settings.log_level)
    app: HubApp = Sanic(name, configure_logging=False, ctx=HubContext(), request_class=HubRequest,
                        dumps=jsonio.dumps)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.ACCESS_LOG = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.TEMPLATING_PATH_TO_TEMPLATES = console.TEMPLATES  # the console's pages (sanic-ext + Jinja2)
    _configure_docs(app)  # /docs: ReDoc, every asset served by the hub
    _configure_cors(app, settings)
    Extend(app, openapi_config={}, built_in_extensions=False, extensions=EXTENSIONS)
    _compile_signals_once_for_auto_routes(app)
    app.ext.openapi.describe(
        "govhub — 国家政务服务平台 hub API",
        version="0.1.0",
        description=("Citizen channels (/wx/v1, /alipay/v1, /app/v1), product teams (/admin/v1), "
                     "departments and provinces (/gov/v1). Errors are application/problem+json "
                     "with a stable `code`."),
    )
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    errors.install(app)
    paths.install(app)  # before any blueprint: their paths name these shapes
    request_cycle.install(app, settings)  # timer, request id, figures, metrics, access line
    _install_lifecycle(app, settings, hub)
    app.blueprint(health.bp)
    app.blueprint(oidc.bp)
    install_gov(app)  # nodes: departments and provinces (/gov/v1)
    for channel_bp in channel_blueprints.blueprints():
        app.blueprint(channel_bp)
    install_admin(app)  # product teams and operators (/admin/v1)
    app.blueprint(public_topics.bp)
    _follow_topic_changes(app)
    app.blueprint(public_verify.bp)  # seals and licenses
    app.blueprint(health_codes.bp)  # health codes' three signed lists
    app.blueprint(console.bp)  # the console's pages for product teams and operators (docs/console.md)
    oas.exclude(bp=console.bp)  # pages for people; the API is /admin/v1
    app.blueprint(gov_housing_fund)
    app.blueprint(regions.bp)
    app.blueprint(public_figures.bp)  # the platform's headline figures, from the rollups
    metrics.install(app, settings)  # /metrics for Prometheus (its counts: request_cycle)
    app.add_route(_openapi_json, "/openapi.json", name="openapi_json", ctx_public=True)
    return app


STATIC = Path(__file__).resolve().parent / "static"
REDOC = STATIC / "vendor" / "redoc"  # vendored from npm: bff/static/vendor/redoc/README.md
YEAR = 365 * 24 * 3600
# name -> (media type, cache-control): the bundle's URL carries its digest (a new bundle, a new URL)
DOCS_ASSETS = {
    "redoc.standalone.js": ("text/javascript; charset=utf-8", f"public, max-age={YEAR}, immutable"),
    "redoc.standalone.js.LICENSE.txt": ("text/plain; charset=utf-8", "public, no-cache"),
}


def _configure_docs(app: HubApp) -> None:
    """``/docs`` (and ``/docs/redoc``): sanic-ext's ReDoc page, filled from our template
    (bff/static/docs.html: /openapi.json, system fonts, a same-origin-only policy), loading the
    vendored bundle from ``/docs/assets/``: government intranets reach no CDN. No Swagger UI: its
    page and its OAuth2 redirect come from a CDN."""
    digest = hashlib.sha256((REDOC / "redoc.standalone.js").read_bytes()).hexdigest()[:16]
    app.config.OAS_URL_PREFIX = "/docs"
    app.config.OAS_UI_DEFAULT = "redoc"
    app.config.OAS_UI_SWAGGER = False
    app.config.OAS_PATH_TO_REDOC_HTML = str(STATIC / "docs.html")
    app.config.OAS_UI_REDOC_CDN_URL = f"/docs/assets/redoc.standalone.js?v={digest}"
    app.config.OAS_UI_REDOC_HTML_TITLE = "govhub API 文档"
    for asset, (media, caching) in DOCS_ASSETS.items():
        async def serve(request: Request, asset: str = asset, media: str = media, caching: str = caching):
            return await file(REDOC / asset, mime_type=media, request_headers=request.headers,
                              headers={"cache-control": caching})

        app.add_route(oas.exclude()(serve), f"/docs/assets/{asset}", name=f"docs_{asset.replace('.', '_')}",
                      ctx_public=True)


def _configure_cors(app: HubApp, settings: Settings) -> None:
    """CORS only when origins are configured: with none, sanic-ext's middleware allowed nothing yet
    ran on every request (docs/benchmarks.md, "Home throughput")."""
    origins = [origin.strip() for origin in settings.cors_origins.split(",") if origin.strip()]
    app.config.CORS = bool(origins)
    app.config.CORS_ORIGINS = ",".join(origins)


def _compile_signals_once_for_auto_routes(app: HubApp) -> None:
    """sanic-ext adds a HEAD and an OPTIONS route per path when the server starts. Sanic wraps each
    route added to a started app in ``amend()``, which recompiles the whole signal router (~12 ms)
    every time: ~290 recompiles, 3.5 s of every worker's start (6.5 s to the first answer of
    ``govhub serve``). Setting the signal router aside around sanic-ext's listener makes that one
    compile; the routes, and what HEAD and OPTIONS answer, stay exactly sanic-ext's."""
    from sanic_ext.config import PRIORITY  # the priority sanic-ext registers its listener with

    @app.before_server_start(priority=PRIORITY + 1)  # runs just before sanic-ext's
    def set_signals_aside(app: HubApp) -> None:
        app.signal_router.reset()

    @app.before_server_start(priority=PRIORITY - 1)  # and just after
    def compile_signals(app: HubApp) -> None:
        app.signalize(app.config.TOUCHUP)


def jobs(settings: Settings) -> list[Job]:
    """The scheduler's jobs and their intervals in seconds."""
    return [
        Job("adapters.scheduler.jobs:purge_identity", seconds=3600),
        Job("adapters.scheduler.jobs:flush_popularity", seconds=60),
        Job("adapters.scheduler.jobs:announce_topic_boundaries", seconds=5),
        # delivery
        Job("adapters.scheduler.jobs:relay_deliveries", seconds=settings.relay_interval_seconds),
        Job("adapters.scheduler.jobs:delivery_daily_summary", seconds=3600),  # takes one a day
        # applications
        Job("adapters.scheduler.jobs:flag_overdue_applications", seconds=600),
        Job("adapters.scheduler.jobs:purge_unused_uploads", seconds=3600),
        Job("adapters.scheduler.jobs:purge_consent_reports", seconds=3600),
        # bundles
        Job("adapters.scheduler.jobs:advance_bundles", seconds=settings.bundle_interval_seconds),
        Job("adapters.scheduler.jobs:flag_stuck_bundles", seconds=600),
        # data sharing
        Job("adapters.scheduler.jobs:stamp_message_log", seconds=settings.sharing_stamp_interval_seconds),
        Job("adapters.scheduler.jobs:grant_housekeeping", seconds=3600),
        # health codes
        Job("adapters.scheduler.jobs:health_housekeeping", seconds=3600),
        # the platform's figures: the previous and current hour and their days, every 5 minutes
        Job("adapters.scheduler.jobs:roll_up_figures", seconds=300),
        # month partitions on PostgreSQL: the months ahead made before rows arrive (docs/partitions.md)
        Job("adapters.scheduler.jobs:ensure_partitions", seconds=3600),
    ]


def scheduler_process(settings: Settings) -> None:
    """The scheduler's own process (one per host, started by Sanic's manager)."""
    shutdown.as_child_of_the_hub()  # the main process killed outright: this one stops too

    async def main() -> None:
        # Sanic's manager stops its processes with SIGINT, an operator may send SIGTERM: either
        # ends the jobs' runs (within the grace) BEFORE the database closes (bff/shutdown.py)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, _stopping, stop, settings)
        hub = await build_hub(settings)
        try:
            await scheduler.serve_forever(jobs(settings), hub, hub.redis.aio, stop=stop,
                                          grace=shutdown.request_grace(settings.shutdown_seconds))
        finally:
            await close_hub(hub)

    asyncio.run(main())


def _stopping(stop: asyncio.Event, settings: Settings) -> None:
    shutdown.last_resort(shutdown.child_deadline(settings.shutdown_seconds), "scheduler")
    stop.set()


def _install_lifecycle(app: HubApp, settings: Settings, hub: Hub | None) -> None:
    if hub is not None:
        app.ctx.attach(hub)
        return

    if settings.scheduler_enabled:
        @app.main_process_ready
        async def start_scheduler(app: Sanic) -> None:
            app.manager.manage("scheduler", scheduler_process, {"settings": settings})

    _bound_shutdown(app, settings)

    @app.before_server_start
    async def start(app: HubApp) -> None:
        app.ctx.attach(await build_hub(settings, serving=True))

    @app.after_server_stop
    async def stop(app: HubApp) -> None:
        await close_hub(app.ctx.hub)


def _bound_shutdown(app: HubApp, settings: Settings) -> None:
    """A stop ends within GOVHUB_SHUTDOWN_SECONDS (bff/shutdown.py): requests in flight get the
    grace to finish; a worker, or the main process, still alive past its deadline ends itself."""
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = shutdown.request_grace(settings.shutdown_seconds)

    if settings.workers > 1:  # one worker is the main process itself: its loop owns the signals
        @app.main_process_ready
        async def arm_main(app: Sanic) -> None:
            shutdown.stop_from_manager_loop(app.manager, settings.shutdown_seconds)

    @app.before_server_start
    async def follow_main(app: HubApp) -> None:
        # a worker whose main process was killed outright (kill -9) stops as if sent SIGTERM
        shutdown.as_child_of_the_hub()

    @app.before_server_stop
    async def arm_worker(app: HubApp) -> None:
        shutdown.last_resort(shutdown.child_deadline(settings.shutdown_seconds), "worker")


def _follow_topic_changes(app: HubApp) -> None:
    """Each serving process follows the topics change feed for as long as it serves: its
    in-memory topic lists are trusted only while the subscription holds (domain/topics/cache.py).
    The search words dictionary is held and followed the same way (domain/shared/followed.py), and
    so are citizens' counts of open applications (domain/applications/open_counts.py)."""
    following: list[asyncio.Task] = []

    @app.after_server_start
    async def follow_topics(app: HubApp) -> None:
        following.append(asyncio.create_task(app.ctx.topics.follow_changes(), name="topics-feed"))
        following.append(asyncio.create_task(app.ctx.catalog.words.follow_changes(),
                                             name="search-words-feed"))
        following.append(asyncio.create_task(app.ctx.applications.open_counts.follow_changes(),
                                             name="open-applications-feed"))

    @app.before_server_stop
    async def unfollow_topics(app: HubApp) -> None:
        while following:
            task = following.pop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class RequestIds:
    """Request ids unique across processes and requests without a system call each (``secrets``
    per request was 6 % of a kept home page's time, docs/benchmarks.md): a random prefix per
    process, drawn again in a forked child, and a counter. Ids trace; they guard nothing."""

    def __init__(self) -> None:
        self.draw_prefix()
        os.register_at_fork(after_in_child=self.draw_prefix)

    def draw_prefix(self) -> None:
        self._prefix, self._numbers = secrets.token_hex(8), itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._numbers):016x}"


REQUEST_IDS = RequestIds()


class HubRequest(Request[HubApp, SimpleNamespace]):
    """Keeps a caller's X-Request-Id only if it is sane (tracing across nodes); Sanic would take
    any header value as is, and it ends up in every log line. A route that takes ``request:
    HubRequest`` reads its services typed: ``request.app.ctx.applications`` is an ApplicationService."""

    @property
    def id(self):  # type: ignore[override]
        if not self._id:
            given = self.headers.get("X-Request-Id", "")
            sane = 8 <= len(given) <= 64 and given.replace("-", "").isalnum()
            self._id = given if sane else REQUEST_IDS.next()
        return self._id


async def _openapi_json(request: HubRequest):
    spec = request.app.ctx.openapi_spec
    if spec is None:
        spec = request.app.ctx.openapi_spec = openapi.build(request.app)
    return json(spec)
