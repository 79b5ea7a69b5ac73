"""WeChat mini-program channel (/wx/v1): wx.login code -> session; compact bodies."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.common import presenters
from bff.common.catalog_presenters import detail_compact, home_compact, summary_compact
from bff.common.catalog_routes import add_catalog_routes
from bff.common.home_routes import add_home_route
from bff.common.account import add_account_routes
from bff.common.auth import install_guard
from bff.common.docs import doc
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body
from bff.common.schemas import Body, PersonCompact, Session

bp = Blueprint("wechat", url_prefix="/wx/v1")
install_guard(bp, channel="wechat")


class WeChatLoginIn(Body):
    code: str


class WeChatPhoneIn(Body):
    code: str


LOGIN_ERRORS = {400: ["invalid_input", "malformed_json", "login_code_invalid"], 403: ["channel_user_blocked"],
                429: ["rate_limited", "upstream_rate_limited"], 503: ["upstream_unavailable"]}


@bp.post("/session", ctx_public=True)
@doc("微信登录 Log in with a wx.login code", tag="wechat", body=WeChatLoginIn, ok=(200, Session),
     errors=LOGIN_ERRORS, secured=False,
     description="The code from `wx.login` (single use, 5 minutes) is exchanged with WeChat "
                 "(jscode2session). The session_key stays on the server.")
@rate_limited("login", capacity=20, per_seconds=60)
async def login(request: Request) -> HTTPResponse:
    body = parse_body(request, WeChatLoginIn)
    result = await request.app.ctx.identity.login_wechat(code=body.code)
    return json(presenters.session(result.session, presenters.person_compact(result.person)), ensure_ascii=False)


@bp.post("/me/phone")
@doc("绑定手机号 Bind the phone number from a getPhoneNumber code", tag="wechat", body=WeChatPhoneIn,
     ok=(200, PersonCompact), errors={**LOGIN_ERRORS, 401: ["token_invalid"]})
@rate_limited("phone", capacity=10, per_seconds=3600, by="person")
async def bind_phone(request: Request) -> HTTPResponse:
    body = parse_body(request, WeChatPhoneIn)
    view = await request.app.ctx.identity.bind_wechat_phone(person_id=request.ctx.auth.subject, code=body.code)
    return json(presenters.person_compact(view), ensure_ascii=False)


add_account_routes(bp, channel="wechat", present=presenters.person_compact)
add_catalog_routes(bp, channel="wechat", summary=summary_compact, detail=detail_compact)
add_home_route(bp, channel="wechat", present=home_compact, etag=False)
# applications
from bff.common import application_presenters, application_routes  # noqa: E402  (the whole wiring)

application_routes.add_application_routes(bp, channel="wechat", **application_presenters.COMPACT)
# notifications
from bff.common.notification_routes import add_notification_routes  # noqa: E402  (the whole wiring)

add_notification_routes(bp, channel="wechat")
# seals and licenses
from bff.common import license_presenters, wallet_routes  # noqa: E402  (the whole wiring)

wallet_routes.add_wallet_routes(bp, summary=license_presenters.license_compact)
# housing fund
from bff.common import housing_fund_presenters, housing_fund_routes  # noqa: E402  (the whole wiring)

housing_fund_routes.add_housing_fund_routes(bp, channel="wechat", **housing_fund_presenters.COMPACT)

# bundles
from bff.common import bundle_presenters, bundle_routes  # noqa: E402  (the whole wiring)

bundle_routes.add_bundle_routes(bp, channel="wechat", **bundle_presenters.COMPACT)
