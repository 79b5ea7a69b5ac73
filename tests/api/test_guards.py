"""install_guard and require_assurance on a small app of their own (routes of the real channels
change; the guard contract must not)."""
from __future__ import annotations

import asyncio

import httpx
import pytest
from sanic import Blueprint, Sanic
from sanic.response import json

from adapters.cache.revocations import RedisSessionRevocations
from bff.common import errors
from bff.common.auth import current_auth, install_guard, require_assurance
from domain.identity.models import Person
from domain.identity.tokens import TokenService
from tests.support.clock import suite_clock


def _channel_blueprint(name: str, prefix: str, channel: str) -> Blueprint:
    bp = Blueprint(name, url_prefix=prefix)
    install_guard(bp, channel=channel)

    @bp.get("/whoami")
    async def whoami(request):
        auth = current_auth(request)
        return json({"sub": auth.subject, "acr": auth.assurance, "channel": auth.channel})

    @bp.get("/open", ctx_public=True)
    async def open_route(request):
        return json({"auth": getattr(request.ctx, "auth", None) is not None})

    @bp.get("/secret")
    @require_assurance("L3")
    async def secret(request):
        return json({"ok": True})

    return bp


@pytest.fixture(scope="module")
async def guarded(resources, settings):
    app = Sanic("govhub_guard_test", configure_logging=False)
    app.config.TOUCHUP = False  # Sanic rewrites its class methods once per process: leave that to the hub
    errors.install(app)
    app.ctx.tokens = TokenService(
        vault=resources.vault, clock=suite_clock, issuer=settings.issuer, access_ttl=900,
        refresh_ttl=86400, overlap_seconds=86400, revocations=RedisSessionRevocations(resources.redis.aio))
    app.blueprint(_channel_blueprint("guard_wx", "/wx/v1", "wechat"))
    app.blueprint(_channel_blueprint("guard_app", "/app/v1", "app"))
    app.asgi = True
    await app._startup()
    loop = asyncio.get_running_loop()
    await app._server_event("init", "before", loop=loop)
    await app._server_event("init", "after", loop=loop)
    yield app


@pytest.fixture
async def http(guarded):
    transport = httpx.ASGITransport(app=guarded, client=("127.0.0.1", 50001))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def _token(guarded, channel: str, level: int) -> tuple[str, str]:
    person = await Person.create(public_id=f"p-guard-{channel}-{level}", assurance=level)
    issued = await guarded.ctx.tokens.issue(person=person, channel=channel, assurance=level, device_id="d1")
    return issued.access_token, issued.family_id


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


async def test_a_valid_token_reaches_the_route(http, guarded):
    token, _ = await _token(guarded, "wechat", 2)
    response = await http.get("/wx/v1/whoami", headers=_bearer(token))
    assert response.status_code == 200
    assert response.json() == {"sub": "p-guard-wechat-2", "acr": 2, "channel": "wechat"}


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwdw==", "Bearer a b",
                                    "Bearer not.a.token"])
async def test_missing_or_malformed_credentials_get_401_with_a_challenge(http, header):
    headers = {} if header is None else {"Authorization": header}
    response = await http.get("/wx/v1/whoami", headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "token_invalid"
    assert response.headers["www-authenticate"].startswith("Bearer ")


async def test_a_token_of_another_channel_is_refused(http, guarded):
    token, _ = await _token(guarded, "app", 3)
    assert (await http.get("/wx/v1/whoami", headers=_bearer(token))).status_code == 401
    assert (await http.get("/app/v1/whoami", headers=_bearer(token))).status_code == 200


async def test_a_revoked_login_is_refused_at_once(http, guarded):
    token, family = await _token(guarded, "wechat", 2)
    await guarded.ctx.tokens.revoke(family_id=family)
    response = await http.get("/wx/v1/whoami", headers=_bearer(token))
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["www-authenticate"]


async def test_public_routes_need_no_token(http):
    response = await http.get("/wx/v1/open")
    assert response.status_code == 200 and response.json() == {"auth": False}


@pytest.mark.parametrize("channel, prefix", [("wechat", "wx"), ("app", "app")])
async def test_assurance_below_the_route_level_points_at_face_verification(http, guarded, channel, prefix):
    token, _ = await _token(guarded, channel, 2)
    response = await http.get(f"/{prefix}/v1/secret", headers=_bearer(token))
    assert response.status_code == 403
    body = response.json()
    assert body["code"] == "assurance_required"
    assert (body["required"], body["current"]) == ("L3", "L2")
    assert body["face_verification"] == f"/{prefix}/v1/me/face-verifications"


async def test_enough_assurance_passes(http, guarded):
    token, _ = await _token(guarded, "wechat", 3)
    assert (await http.get("/wx/v1/secret", headers=_bearer(token))).json() == {"ok": True}
