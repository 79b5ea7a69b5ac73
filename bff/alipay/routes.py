"""What only the Alipay mini-program has: the my.getAuthCode code -> session.

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
from bff.common.schemas import Body, Session

routes = ChannelRoutes(channels=("alipay",))


class AlipayLoginIn(Body):
    auth_code: str


@routes.post("/session", ctx_public=True)
@doc("支付宝登录 Log in with an Alipay auth code", body=AlipayLoginIn, ok=(200, Session),
     errors={400: ["invalid_input", "malformed_json", "login_code_invalid"], 403: ["channel_user_blocked"],
             429: ["rate_limited", "upstream_rate_limited"], 503: ["upstream_unavailable"]},
     secured=False, description="The auth code from `my.getAuthCode` is exchanged with "
                                "`alipay.system.oauth.token` (RSA2-signed; the answer's signature is checked).")
@rate_limited("login", capacity=20, per_seconds=60)
async def login(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, AlipayLoginIn)
    result = await request.app.ctx.identity.login_alipay(auth_code=body.auth_code)
    return json(presenters.session(result.session, channel.shapes.person(result.person)), ensure_ascii=False)
