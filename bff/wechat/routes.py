"""What only the WeChat mini-program has: the wx.login code -> session, the getPhoneNumber code.

Its prefix and shapes are its row in bff/common/channels.py; the routes every channel shares are
mounted with these by bff/channel_blueprints.py.
"""
from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, json

from bff.common import presenters
from bff.common.channel_routes import ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import doc
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body
from bff.common.schemas import Body, PersonCompact, Session

routes = ChannelRoutes(channels=("wechat",))


class WeChatLoginIn(Body):
    code: str


class WeChatPhoneIn(Body):
    code: str


LOGIN_ERRORS = {400: ["invalid_input", "malformed_json", "login_code_invalid"], 403: ["channel_user_blocked"],
                429: ["rate_limited", "upstream_rate_limited"], 503: ["upstream_unavailable"]}


@routes.post("/session", ctx_public=True)
@doc("微信登录 Log in with a wx.login code", body=WeChatLoginIn, ok=(200, Session),
     errors=LOGIN_ERRORS, secured=False,
     description="The code from `wx.login` (single use, 5 minutes) is exchanged with WeChat "
                 "(jscode2session). The session_key stays on the server.")
@rate_limited("login", capacity=20, per_seconds=60)
async def login(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, WeChatLoginIn)
    result = await request.app.ctx.identity.login_wechat(code=body.code)
    return json(presenters.session(result.session, channel.shapes.person(result.person)), ensure_ascii=False)


@routes.post("/me/phone")
@doc("绑定手机号 Bind the phone number from a getPhoneNumber code", body=WeChatPhoneIn,
     ok=(200, PersonCompact), errors={**LOGIN_ERRORS, 401: ["token_invalid"]})
@rate_limited("phone", capacity=10, per_seconds=3600, by="person")
async def bind_phone(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, WeChatPhoneIn)
    view = await request.app.ctx.identity.bind_wechat_phone(person_id=request.ctx.auth.subject, code=body.code)
    return json(channel.shapes.person(view), ensure_ascii=False)
