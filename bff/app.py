"""The composition root: the only module that imports adapters.

``create_app(settings)`` builds the adapters, hands them to the domain services, registers the
blueprints, listeners and error handlers. Tests pass ``resources`` already built so that one
database and one Redis serve a whole test session.
"""
from __future__ import annotations

import base64
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from sanic import Request, Sanic
from sanic_ext import Extend
from sanic_ext.extensions.openapi.builders import SpecificationBuilder

from adapters.cache import redis as redis_adapter
from domain.shared.clock import Clock
from domain.shared.vault import Vault
from bff import database
from bff.common import errors, logs
from bff.public import health
from bff.settings import Settings

log = logging.getLogger("govhub.access")


@dataclass
class Resources:
    """What a running hub holds: connections and the domain services built on them."""

    settings: Settings
    redis: redis_adapter.RedisClients
    services: dict[str, Any] = field(default_factory=dict)


async def build_resources(settings: Settings) -> Resources:
    await database.connect(settings.database_url)
    resources = Resources(settings=settings, redis=redis_adapter.connect(settings.redis_url))
    clock = Clock()
    vault = Vault(data_key=base64.b64decode(settings.data_key), lookup_key=base64.b64decode(settings.lookup_key))
    resources.services.update(clock=clock, vault=vault)
    # --- tokens (access/refresh tokens, signing keys) ---
    # --- end tokens ---
    # --- nodes (departments and provinces: signed requests) ---
    # --- end nodes ---
    # --- identity (people, channel logins, real-name, face) ---
    # --- end identity ---
    return resources


async def close_resources(resources: Resources) -> None:
    await resources.redis.close()
    await database.disconnect()


def create_app(settings: Settings, *, resources: Resources | None = None, name: str = "govhub") -> Sanic:
    logs.configure(settings.log_level)
    app = Sanic(name, configure_logging=False, request_class=HubRequest)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.ACCESS_LOG = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_URL_PREFIX = "/docs"
    app.config.OAS_UI_DEFAULT = "redoc"
    app.config.OAS_UI_SWAGGER = True
    app.config.OAS_AUTODOC = True
    Extend(app, openapi_config={})
    app.ext.openapi.describe(
        "govhub — 国家政务服务平台 hub API",
        version="0.1.0",
        description=("Citizen channels (/wx/v1, /alipay/v1, /app/v1), product teams (/admin/v1), "
                     "departments and provinces (/gov/v1). Errors are application/problem+json "
                     "with a stable `code`."),
    )
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    app.ctx.settings = settings
    errors.install(app)
    _install_request_context(app)
    _install_lifecycle(app, settings, resources)
    app.blueprint(health.bp)
    # --- blueprints: tokens/oidc ---
    # --- blueprints: nodes/gov ---
    # --- blueprints: channels ---
    app.add_route(_openapi_json, "/openapi.json", name="openapi_json", ctx_public=True)
    return app


def _install_lifecycle(app: Sanic, settings: Settings, resources: Resources | None) -> None:
    if resources is not None:
        _attach(app, resources)
        return

    @app.before_server_start
    async def start(app: Sanic) -> None:
        _attach(app, await build_resources(settings))

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await close_resources(app.ctx.resources)


def _attach(app: Sanic, resources: Resources) -> None:
    app.ctx.resources = resources
    app.ctx.redis = resources.redis
    for name, service in resources.services.items():
        setattr(app.ctx, name, service)


def _install_request_context(app: Sanic) -> None:
    @app.on_request(priority=100)
    async def begin(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        logs.request_id_var.set(str(request.id))

    @app.on_response(priority=100)
    async def end(request: Request, response) -> None:
        response.headers["X-Request-Id"] = str(request.id)
        started = getattr(request.ctx, "started", None)
        duration = round((time.perf_counter() - started) * 1000, 2) if started else None
        log.info("%s %s %s", request.method, request.path, response.status,
                 extra={"method": request.method, "path": request.path, "status": response.status,
                        "duration_ms": duration})


class HubRequest(Request):
    """Keeps a caller's X-Request-Id only if it is sane (tracing across nodes); Sanic would take
    any header value as is, and it ends up in every log line."""

    @property
    def id(self):  # type: ignore[override]
        if not self._id:
            given = self.headers.get("X-Request-Id", "")
            sane = 8 <= len(given) <= 64 and given.replace("-", "").isalnum()
            self._id = given if sane else uuid.uuid4().hex
        return self._id


async def _openapi_json(request: Request):
    from sanic.response import json

    spec = getattr(request.app.ctx, "openapi_spec", None)
    if spec is None:
        spec = request.app.ctx.openapi_spec = SpecificationBuilder().build(request.app).serialize()
    return json(spec)
