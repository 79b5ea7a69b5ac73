"""What only the mobile app has: phone + SMS code login, the session bound to the device.

Its prefix and shapes are its row in bff/common/channels.py; the routes every channel shares are
mounted with these by bff/channel_blueprints.py.

(The package is ``bff/mobile`` because ``bff/app.py`` makes the Sanic app: Python cannot have
both a module and a package named ``bff.app``.)
"""
from __future__ import annotations

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json

from bff.common import presenters
from bff.common.account import device_id
from bff.common.channel_routes import ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import DEVICE_ID, doc
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body
from bff.common.schemas import Body, Out, Session

routes = ChannelRoutes(channels=("app",))


class SmsCodeIn(Body):
    phone: str = Field(examples=["13800000001"])


class SmsCodeOut(Out):
    expires_in: int
    resend_after: int
    phone_masked: str


class AppLoginIn(Body):
    phone: str
    code: str = Field(description="the 6-digit SMS code")


@routes.post("/sms-codes", ctx_public=True)
@doc("发送短信验证码 Send a login code by SMS", body=SmsCodeIn, ok=(202, SmsCodeOut), secured=False,
     errors={400: ["invalid_input", "malformed_json", "invalid_phone"],
             429: ["sms_send_limited", "rate_limited"], 503: ["upstream_unavailable"]},
     description="One code a minute and ten a day per phone number, and a limit per client address. "
                 "The code is valid 5 minutes and locks after 5 wrong tries.")
@rate_limited("sms", capacity=10, per_seconds=3600)
async def send_sms_code(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, SmsCodeIn)
    sent = await request.app.ctx.identity.send_sms_code(phone=body.phone)
    return json(sent, status=202)


@routes.post("/session", ctx_public=True)
@doc("短信登录 Log in with phone number and SMS code", body=AppLoginIn, ok=(200, Session),
     headers=(DEVICE_ID,),
     secured=False, errors={400: ["invalid_input", "malformed_json", "invalid_phone"],
                            401: ["sms_code_invalid"], 429: ["sms_code_locked", "rate_limited"]},
     description="Send `X-Device-Id` to bind the refresh token to this device.")
@rate_limited("login", capacity=20, per_seconds=60)
async def login(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, AppLoginIn)
    result = await request.app.ctx.identity.login_app(phone=body.phone, code=body.code, device_id=device_id(request))
    return json(presenters.session(result.session, channel.shapes.person(result.person)), ensure_ascii=False)
