"""Fake Alipay open-platform gateway (``openapi.alipay.com/gateway.do``) and device.

Requests must carry a valid RSA2 signature made with the application's private key; every
answer is signed with the platform's private key over the exact JSON text of the response
value, as the real gateway does, so the hub's verification is exercised for real.
"""

from __future__ import annotations

import json as jsonlib
import secrets
import time
from datetime import datetime, timedelta, timezone

from sanic import Blueprint, Request, json
from sanic.response import HTTPResponse

from miniprogram_mock import alipay_sign, users
from miniprogram_mock.state import MockState

OAUTH_METHOD = "alipay.system.oauth.token"
# notifications: the template-message method (miniprogram_mock/messages.py)
TEMPLATE_MESSAGE_METHOD = "alipay.open.app.mini.templatemessage.send"
METHODS = (OAUTH_METHOD, TEMPLATE_MESSAGE_METHOD)
SHANGHAI = timezone(timedelta(hours=8))  # China has no daylight saving time
TIMESTAMP_TOLERANCE = 15 * 60
# required parameter -> the gateway's sub_code when it is missing
REQUIRED = {
    "app_id": "isv.missing-app-id",
    "method": "isv.missing-method",
    "charset": "isv.missing-charset",
    "sign_type": "isv.missing-signature-type",
    "sign": "isv.missing-signature",
    "timestamp": "isv.missing-timestamp",
    "version": "isv.missing-version",
}


class GatewayError(Exception):
    """An ``error_response``: code/msg are the gateway's families, sub_code the precise reason."""

    def __init__(self, code: str, msg: str, sub_code: str, sub_msg: str) -> None:
        super().__init__(sub_code)
        self.body = {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg}


def missing(param: str) -> GatewayError:
    return GatewayError("40001", "Missing Required Arguments", REQUIRED[param], f"缺少{param}参数")


def invalid(sub_code: str, sub_msg: str) -> GatewayError:
    return GatewayError("40002", "Invalid Arguments", sub_code, sub_msg)


BUSY = GatewayError("20000", "Service Currently Unavailable", "isp.unknow-error", "系统繁忙")


def shanghai_now() -> str:
    return datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def gateway_params(request: Request) -> dict[str, str]:
    """The real gateway reads parameters from the query string and the form body alike."""
    params = {k: v[0] for k, v in request.args.items()}
    params.update({k: v[0] for k, v in (request.form or {}).items()})
    return params


def signed_response(request: Request, key: str, inner: dict, *, corrupt: bool = False) -> HTTPResponse:
    text = jsonlib.dumps(inner, ensure_ascii=False, separators=(",", ":"))
    signature = alipay_sign.sign(request.app.ctx.alipay_platform_private, text)
    if corrupt:  # a well-formed signature over other content: what a forger would send
        signature = alipay_sign.sign(request.app.ctx.alipay_platform_private, text + " ")
    body = f'{{"{key}":{text},"sign":"{signature}"}}'
    return HTTPResponse(body, content_type="text/html;charset=utf-8")


def check_envelope(request: Request, params: dict[str, str]) -> None:
    for name in REQUIRED:
        if not params.get(name):
            raise missing(name)
    if params["app_id"] != request.app.ctx.alipay_app_id:
        raise invalid("isv.invalid-app-id", "无效的AppID参数")
    if params["sign_type"] != "RSA2":
        raise invalid("isv.invalid-signature-type", "无效的签名类型")
    if params["method"] not in METHODS:  # notifications: the template-message method too
        raise invalid("isv.invalid-method", "不存在的方法名")
    check_timestamp(params["timestamp"])
    content = alipay_sign.request_sign_content(params)
    if not alipay_sign.verify(request.app.ctx.alipay_app_public, content, params["sign"]):
        raise invalid("isv.invalid-signature", "验签出错，建议检查签名字符串或签名私钥与应用公钥是否匹配")


def check_timestamp(value: str) -> None:
    try:
        sent = datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=SHANGHAI).timestamp()
    except ValueError:
        raise invalid("isv.invalid-timestamp", "非法的时间戳参数") from None
    # Real time, not the mock's movable clock: the hub stamps requests with its own clock.
    if abs(sent - time.time()) > TIMESTAMP_TOLERANCE:
        raise invalid("isv.invalid-timestamp", "非法的时间戳参数")


def injected(state: MockState, method: str = OAUTH_METHOD):
    """(error to raise, corrupt the signature?) from a test's fault, if any."""
    fault = state.take_fault(method)
    if fault is None or fault.http_status:
        return fault, None, False
    if fault.corrupt_sign:
        return fault, None, True
    if fault.errcode in (None, -1, "-1", 20000, "20000"):
        return fault, BUSY, False
    code = str(fault.errcode)
    return (
        fault,
        GatewayError(code, "Business Failed", fault.sub_code or "isp.unknow-error", "测试注入的错误"),
        False,
    )


def oauth_token(request: Request, params: dict[str, str]) -> dict:
    state: MockState = request.app.ctx.state
    grant_type = params.get("grant_type")
    if grant_type == "authorization_code":
        user = state.redeem_code("alipay", params.get("code", ""))
        if user is None:
            raise invalid("isv.code-invalid", "授权码code无效")
    elif grant_type == "refresh_token":
        user = state.alipay_refresh_tokens.pop(params.get("refresh_token", ""), None)
        if user is None:
            raise invalid("isv.refresh-token-invalid", "刷新令牌refresh_token无效")
    else:
        raise invalid("isv.grant-type-invalid", "grant_type参数不正确")
    refresh_token = "authusrB" + secrets.token_hex(16)
    state.alipay_refresh_tokens[refresh_token] = user
    return {
        "user_id": users.alipay_user_id(user),
        "open_id": users.alipay_open_id(request.app.ctx.alipay_app_id, user),
        "access_token": "authusrB" + secrets.token_hex(16),
        "refresh_token": refresh_token,
        "expires_in": 1296000,
        "re_expires_in": 2592000,
        "auth_start": shanghai_now(),
    }


def gateway() -> Blueprint:
    bp = Blueprint("alipay_gateway", url_prefix="/alipay")

    @bp.route("/gateway.do", methods=["GET", "POST"])
    async def gateway_do(request: Request):
        params = gateway_params(request)
        corrupt = False
        try:
            check_envelope(request, params)
            fault, error, corrupt = injected(request.app.ctx.state, params["method"])
            if fault and fault.http_status:
                return HTTPResponse("gateway fault injected", status=fault.http_status)
            if error:
                raise error
            # notifications: template messages (miniprogram_mock/messages.py)
            if params["method"] == TEMPLATE_MESSAGE_METHOD:
                from miniprogram_mock.messages import alipay_template_message

                inner = alipay_template_message(request, params)
                key = TEMPLATE_MESSAGE_METHOD.replace(".", "_") + "_response"
                return signed_response(request, key, inner, corrupt=corrupt)
            inner = oauth_token(request, params)
        except GatewayError as exc:
            return signed_response(request, "error_response", exc.body, corrupt=corrupt)
        return signed_response(request, "alipay_system_oauth_token_response", inner, corrupt=corrupt)

    return bp


def device() -> Blueprint:
    """What the Alipay app would do: ``my.getAuthCode`` hands out a single-use auth code."""
    bp = Blueprint("alipay_device", url_prefix="/_mock/alipay")

    @bp.post("/auth")
    async def auth(request: Request):
        body = request.json if isinstance(request.json, dict) else {}
        user = str(body.get("user") or "alice")
        return json({"auth_code": request.app.ctx.state.issue_code("alipay", user, nbytes=16)})

    return bp
