"""The mobile app channel (/app/v1): phone + SMS code; richer bodies; refresh bound to the device.

(The package is ``bff/mobile`` because ``bff/app.py`` is the composition root: Python cannot have
both a module and a package named ``bff.app``.)
"""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.common import presenters
from bff.common.catalog_presenters import detail_full, home_full, summary_full
from bff.common.catalog_routes import add_catalog_routes
from bff.common.home_routes import add_home_route
from bff.common.account import add_account_routes, device_id
from bff.common.auth import install_guard
from bff.common.docs import DEVICE_ID, doc
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body
from bff.common.schemas import Body, Out, Session

bp = Blueprint("app", url_prefix="/app/v1")
install_guard(bp, channel="app")


class SmsCodeIn(Body):
    phone: str = Field(examples=["13800000001"])


class SmsCodeOut(Out):
    expires_in: int
    resend_after: int
    phone_masked: str


class AppLoginIn(Body):
    phone: str
    code: str = Field(description="the 6-digit SMS code")


@bp.post("/sms-codes", ctx_public=True)
@doc("发送短信验证码 Send a login code by SMS", tag="app", body=SmsCodeIn, ok=(202, SmsCodeOut), secured=False,
     errors={400: ["invalid_input", "malformed_json", "invalid_phone"],
             429: ["sms_send_limited", "rate_limited"], 503: ["upstream_unavailable"]},
     description="One code a minute and ten a day per phone number, and a limit per client address. "
                 "The code is valid 5 minutes and locks after 5 wrong tries.")
@rate_limited("sms", capacity=10, per_seconds=3600)
async def send_sms_code(request: Request) -> HTTPResponse:
    body = parse_body(request, SmsCodeIn)
    sent = await request.app.ctx.identity.send_sms_code(phone=body.phone)
    return json(sent, status=202)


@bp.post("/session", ctx_public=True)
@doc("短信登录 Log in with phone number and SMS code", tag="app", body=AppLoginIn, ok=(200, Session),
     headers=(DEVICE_ID,),
     secured=False, errors={400: ["invalid_input", "malformed_json", "invalid_phone"],
                            401: ["sms_code_invalid"], 429: ["sms_code_locked", "rate_limited"]},
     description="Send `X-Device-Id` to bind the refresh token to this device.")
@rate_limited("login", capacity=20, per_seconds=60)
async def login(request: Request) -> HTTPResponse:
    body = parse_body(request, AppLoginIn)
    result = await request.app.ctx.identity.login_app(phone=body.phone, code=body.code, device_id=device_id(request))
    return json(presenters.session(result.session, presenters.person_full(result.person)), ensure_ascii=False)


add_account_routes(bp, channel="app", present=presenters.person_full)
add_catalog_routes(bp, channel="app", summary=summary_full, detail=detail_full)
add_home_route(bp, channel="app", present=home_full, etag=True)
# applications
from bff.common import application_presenters, application_routes  # noqa: E402  (the whole wiring)

application_routes.add_application_routes(bp, channel="app", **application_presenters.FULL)
# notifications
from bff.common.notification_routes import add_notification_routes  # noqa: E402  (the whole wiring)

add_notification_routes(bp, channel="app")
# seals and licenses
from bff.common import license_presenters, wallet_routes  # noqa: E402  (the whole wiring)

wallet_routes.add_wallet_routes(bp, summary=license_presenters.license_summary)
# housing fund
from bff.common import housing_fund_presenters, housing_fund_routes  # noqa: E402  (the whole wiring)

housing_fund_routes.add_housing_fund_routes(bp, channel="app", **housing_fund_presenters.FULL)

# bundles
from bff.common import bundle_presenters, bundle_routes  # noqa: E402  (the whole wiring)

bundle_routes.add_bundle_routes(bp, channel="app", **bundle_presenters.FULL)
