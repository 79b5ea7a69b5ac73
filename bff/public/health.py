"""Liveness and readiness: ``/healthz`` says the process runs, ``/readyz`` that it can serve."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json
from tortoise import Tortoise

from bff.common.docs import doc
from bff.common.schemas import Out

bp = Blueprint("health")


class Health(Out):
    status: str


class Readiness(Out):
    status: str
    checks: dict[str, str]


@bp.get("/healthz", ctx_public=True)
@doc("存活检查 Liveness", tag="public", ok=(200, Health), secured=False)
async def healthz(request: Request):
    return json({"status": "ok"})


@bp.get("/readyz", ctx_public=True)
@doc("就绪检查 Readiness: database and Redis answer", tag="public", ok=(200, Readiness), secured=False,
     description="503 with the same body when a check fails.")
async def readyz(request: Request):
    checks = {"database": await _check_database(), "redis": await _check_redis(request)}
    ready = all(v == "ok" for v in checks.values())
    return json({"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503)


async def _check_database() -> str:
    try:
        await Tortoise.get_connection("default").execute_query("SELECT 1")
        return "ok"
    except Exception as exc:  # readiness reports the failure instead of raising it
        return f"error: {exc.__class__.__name__}"


async def _check_redis(request: Request) -> str:
    try:
        await request.app.ctx.redis.aio.ping()
        return "ok"
    except Exception as exc:
        return f"error: {exc.__class__.__name__}"
