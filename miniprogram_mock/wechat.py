"""Fake WeChat open platform (``api.weixin.qq.com``) and the simulated mini-program device.

WeChat answers HTTP 200 with ``{"errcode", "errmsg"}`` for every business error; the messages
below are the ones the real platform sends, with a fresh ``rid`` as WeChat appends one.
"""

from __future__ import annotations

import base64
import itertools
import secrets

from sanic import Blueprint, Request, json
from sanic.response import HTTPResponse

from miniprogram_mock import users
from miniprogram_mock.state import ACCESS_TOKEN_TTL, MockState

LOGIN_RATE_LIMIT = 100  # jscode2session calls per user per minute

ERRMSG = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40003: "invalid openid",
    40013: "invalid appid",
    40029: "invalid code",
    40037: "invalid template_id",
    40125: "invalid appsecret",
    40163: "code been used",
    40226: "high risk user",
    41001: "access_token missing",
    41008: "missing code",
    42001: "access_token expired",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    47001: "data format error",
}
_msgids = itertools.count(2_000_000_000)


def wx_error(errcode: int, errmsg: str | None = None) -> HTTPResponse:
    rid = f"{secrets.token_hex(4)}-{secrets.token_hex(4)}-{secrets.token_hex(4)}"
    return json({"errcode": errcode, "errmsg": f"{errmsg or ERRMSG.get(errcode, 'error')}, rid: {rid}"})


def fault_response(state: MockState, api: str) -> HTTPResponse | None:
    """An injected failure for this call, if a test asked for one."""
    fault = state.take_fault(api)
    if fault is None:
        return None
    if fault.http_status:
        return HTTPResponse("upstream fault injected", status=fault.http_status)
    return wx_error(int(fault.errcode if fault.errcode is not None else -1))


def _state(request: Request) -> MockState:
    return request.app.ctx.state


def _check_app(request: Request, appid: str | None, secret: str | None) -> HTTPResponse | None:
    if appid != request.app.ctx.wechat_appid:
        return wx_error(40013)
    if secret != request.app.ctx.wechat_secret:
        return wx_error(40125)
    return None


def _check_token(request: Request) -> HTTPResponse | None:
    status = _state(request).token_status(request.args.get("access_token"))
    return {"ok": None, "missing": wx_error(41001), "invalid": wx_error(40001), "expired": wx_error(42001)}[
        status
    ]


def _body(request: Request) -> dict:
    try:
        body = request.json
    except Exception:  # noqa: BLE001 - WeChat answers malformed JSON with 47001, never a 400
        return {}
    return body if isinstance(body, dict) else {}


def open_platform() -> Blueprint:
    bp = Blueprint("wechat_open_platform", url_prefix="/wechat")

    @bp.get("/cgi-bin/token")
    async def token(request: Request):
        args = request.args
        if failure := fault_response(_state(request), "token"):
            return failure
        if args.get("grant_type") != "client_credential":
            return wx_error(40002)
        if refusal := _check_app(request, args.get("appid"), args.get("secret")):
            return refusal
        return json({"access_token": _state(request).issue_access_token(), "expires_in": ACCESS_TOKEN_TTL})

    @bp.post("/cgi-bin/stable_token")
    async def stable_token(request: Request):
        body, state = _body(request), _state(request)
        if failure := fault_response(state, "token"):
            return failure
        if body.get("grant_type") != "client_credential":
            return wx_error(40002)
        if refusal := _check_app(request, body.get("appid"), body.get("secret")):
            return refusal
        # Unlike cgi-bin/token, the stable token is the same for every caller until it expires.
        if body.get("force_refresh") or state.token_status(state.stable_token) != "ok":
            state.stable_token = state.issue_access_token()
        return json({"access_token": state.stable_token, "expires_in": state.expires_in(state.stable_token)})

    @bp.get("/sns/jscode2session")
    async def jscode2session(request: Request):
        args, state = request.args, _state(request)
        if failure := fault_response(state, "jscode2session"):
            return failure
        if refusal := _check_app(request, args.get("appid"), args.get("secret")):
            return refusal
        if args.get("grant_type") != "authorization_code":
            return wx_error(40002)
        js_code = args.get("js_code")
        if not js_code:
            return wx_error(41008)
        user = state.peek_code("login", js_code)
        if user is None:
            return wx_error(40029)
        if state.count_login_call(user) > LOGIN_RATE_LIMIT:
            return wx_error(45011)
        if user in users.HIGH_RISK_USERS:
            return wx_error(40226)
        state.redeem_code("login", js_code)
        appid = request.app.ctx.wechat_appid
        return json(
            {
                "openid": users.wechat_openid(appid, user),
                "session_key": base64.b64encode(secrets.token_bytes(16)).decode(),
                "unionid": users.wechat_unionid(user),
            }
        )

    @bp.post("/wxa/business/getuserphonenumber")
    async def getuserphonenumber(request: Request):
        state = _state(request)
        if failure := fault_response(state, "getuserphonenumber"):
            return failure
        if refusal := _check_token(request):
            return refusal
        code = _body(request).get("code")
        if not code:
            return wx_error(47001)
        user = state.redeem_code("phone", code)
        if user is None:
            return wx_error(40029)
        phone = users.phone_of(user)
        watermark = {"timestamp": int(state.now()), "appid": request.app.ctx.wechat_appid}
        return json(
            {
                "errcode": 0,
                "errmsg": "ok",
                "phone_info": {
                    "phoneNumber": phone,
                    "purePhoneNumber": phone,
                    "countryCode": "86",
                    "watermark": watermark,
                },
            }
        )

    @bp.post("/cgi-bin/message/subscribe/send")
    async def subscribe_send(request: Request):
        state = _state(request)
        if failure := fault_response(state, "subscribe_send"):
            return failure
        if refusal := _check_token(request):
            return refusal
        body = _body(request)
        if not body.get("touser"):
            return wx_error(40003)
        if not body.get("template_id"):
            return wx_error(40037)
        if not isinstance(body.get("data"), dict):
            return wx_error(47001, "data format error hint: data")
        msgid = next(_msgids)
        state.messages.append({**body, "msgid": msgid, "received_at": int(state.now())})
        return json({"errcode": 0, "errmsg": "ok", "msgid": msgid})

    return bp


def device() -> Blueprint:
    """What the WeChat app on a citizen's phone would do: hand out wx.login / getPhoneNumber codes."""
    bp = Blueprint("wechat_device", url_prefix="/_mock/wechat")

    def _user(request: Request) -> str:
        return str(_body(request).get("user") or "alice")

    @bp.post("/login")
    async def login(request: Request):
        return json({"code": _state(request).issue_code("login", _user(request))})

    @bp.post("/phone")
    async def phone(request: Request):
        return json({"code": _state(request).issue_code("phone", _user(request))})

    @bp.get("/messages")
    async def messages(request: Request):
        touser = request.args.get("touser")
        found = [m for m in _state(request).messages if touser in (None, m.get("touser"))]
        return json({"messages": found})

    return bp
