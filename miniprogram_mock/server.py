"""The mock's Sanic application: fake WeChat and Alipay platforms, an SMS sink, and test controls.

Controls under ``/_mock`` are what a test (or a person at a terminal) uses to play the citizen's
phone and to make the platforms misbehave on purpose.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from sanic import Blueprint, Request, Sanic, json

from miniprogram_mock import alipay, alipay_sign, messages, sms, users, wechat
from miniprogram_mock.state import Fault, MockState

DEFAULT_KEYS_DIR = Path(__file__).resolve().parent.parent / "devkeys"
FAULTABLE_APIS = (
    "token",
    "jscode2session",
    "getuserphonenumber",
    "subscribe_send",
    alipay.OAUTH_METHOD,
    "sms",
    alipay.TEMPLATE_MESSAGE_METHOD,  # notifications
)
_app_numbers = itertools.count(1)


def create_mock_app(
    *,
    wechat_appid: str = "wxdev0000000000001",
    wechat_secret: str = "dev-wechat-secret",
    alipay_app_id: str = "2021000000000001",
    keys_dir: Path | str = DEFAULT_KEYS_DIR,
) -> Sanic:
    # Sanic keeps a registry of app names; a counter lets tests build several apps in one process.
    app = Sanic(f"miniprogram_mock_{next(_app_numbers)}")
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.AUTO_EXTEND = False  # sanic-ext is installed for the hub; the mock needs none of it
    keys = Path(keys_dir)
    app.ctx.state = MockState()
    app.ctx.wechat_appid = wechat_appid
    app.ctx.wechat_secret = wechat_secret
    app.ctx.alipay_app_id = alipay_app_id
    app.ctx.alipay_app_public = alipay_sign.load_public((keys / "alipay_app_public.pem").read_bytes())
    app.ctx.alipay_platform_private = alipay_sign.load_private(
        (keys / "alipay_platform_private.pem").read_bytes()
    )
    for blueprint in (
        wechat.open_platform(),
        wechat.device(),
        alipay.gateway(),
        alipay.device(),
        sms.sink(),
        messages.device(),  # notifications: messages received, for tests and journeys
        controls(),
    ):
        app.blueprint(blueprint)
    return app


def _parse_fault(body: dict) -> Fault:
    api = body.get("api")
    if api not in FAULTABLE_APIS:
        raise ValueError(f"api must be one of {', '.join(FAULTABLE_APIS)}")
    times = int(body.get("times", 1))
    if times < 1:
        raise ValueError("times must be at least 1")
    return Fault(
        api=api,
        remaining=times,
        errcode=body.get("errcode"),
        http_status=int(body["http_status"]) if body.get("http_status") else None,
        sub_code=body.get("sub_code"),
        corrupt_sign=bool(body.get("corrupt_sign")),
    )


def controls() -> Blueprint:
    bp = Blueprint("mock_controls", url_prefix="/_mock")

    @bp.get("/health")
    async def health(request: Request):
        return json({"status": "ok"})

    @bp.post("/reset")
    async def reset(request: Request):
        request.app.ctx.state = MockState()
        return json({"status": "reset"})

    @bp.post("/faults")
    async def add_fault(request: Request):
        body = request.json if isinstance(request.json, dict) else {}
        try:
            fault = _parse_fault(body)
        except (ValueError, TypeError) as exc:
            return json({"error": "invalid_fault", "detail": str(exc)}, status=400)
        request.app.ctx.state.faults[fault.api] = fault
        return json(fault.describe(), status=201)

    @bp.get("/faults")
    async def list_faults(request: Request):
        return json({"faults": [f.describe() for f in request.app.ctx.state.faults.values()]})

    @bp.delete("/faults")
    async def clear_faults(request: Request):
        request.app.ctx.state.faults.clear()
        return json({"status": "cleared"})

    @bp.post("/clock")
    async def advance_clock(request: Request):
        """Move the platforms' clock forward, e.g. {"advance": 301} to expire every login code."""
        body = request.json if isinstance(request.json, dict) else {}
        request.app.ctx.state.clock_offset += float(body.get("advance", 0))
        return json({"offset": request.app.ctx.state.clock_offset})

    @bp.get("/users/<user>")
    async def describe_user(request: Request, user: str):
        ctx = request.app.ctx
        return json(users.describe(user, wechat_appid=ctx.wechat_appid, alipay_app_id=ctx.alipay_app_id))

    return bp
