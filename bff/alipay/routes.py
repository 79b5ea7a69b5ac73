"""Alipay mini-program channel (/alipay/v1): my.getAuthCode -> session; compact bodies."""
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
from bff.common.schemas import Body, Session

bp = Blueprint("alipay", url_prefix="/alipay/v1")
install_guard(bp, channel="alipay")


class AlipayLoginIn(Body):
    auth_code: str


@bp.post("/session", ctx_public=True)
@doc("支付宝登录 Log in with an Alipay auth code", tag="alipay", body=AlipayLoginIn, ok=(200, Session),
     errors={400: ["invalid_input", "malformed_json", "login_code_invalid"], 403: ["channel_user_blocked"],
             429: ["rate_limited", "upstream_rate_limited"], 503: ["upstream_unavailable"]},
     secured=False, description="The auth code from `my.getAuthCode` is exchanged with "
                                "`alipay.system.oauth.token` (RSA2-signed; the answer's signature is checked).")
@rate_limited("login", capacity=20, per_seconds=60)
async def login(request: Request) -> HTTPResponse:
    body = parse_body(request, AlipayLoginIn)
    result = await request.app.ctx.identity.login_alipay(auth_code=body.auth_code)
    return json(presenters.session(result.session, presenters.person_compact(result.person)), ensure_ascii=False)


add_account_routes(bp, channel="alipay", present=presenters.person_compact)
add_catalog_routes(bp, channel="alipay", summary=summary_compact, detail=detail_compact)
add_home_route(bp, channel="alipay", present=home_compact, etag=False)
# applications
from bff.common import application_presenters, application_routes  # noqa: E402  (the whole wiring)

application_routes.add_application_routes(bp, channel="alipay", **application_presenters.COMPACT)
# notifications
from bff.common.notification_routes import add_notification_routes  # noqa: E402  (the whole wiring)

add_notification_routes(bp, channel="alipay")
# seals and licenses
from bff.common import license_presenters, wallet_routes  # noqa: E402  (the whole wiring)

wallet_routes.add_wallet_routes(bp, summary=license_presenters.license_compact)
# housing fund
from bff.common import housing_fund_presenters, housing_fund_routes  # noqa: E402  (the whole wiring)

housing_fund_routes.add_housing_fund_routes(bp, channel="alipay", **housing_fund_presenters.COMPACT)

# bundles
from bff.common import bundle_presenters, bundle_routes  # noqa: E402  (the whole wiring)

bundle_routes.add_bundle_routes(bp, channel="alipay", **bundle_presenters.COMPACT)
