"""Console login and logout, and who am I (``/admin/v1/session``, ``/admin/v1/me``)."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from bff.admin import presenters
from bff.admin.auth import admin_doc, current_admin, install_admin_guard
from bff.admin.schemas import AdminSessionOut, LoginIn, MeOut
from bff.common.docs import doc
from bff.common.limits import admin_login_limited, client_ip
from bff.common.parsing import parse_body

bp = Blueprint("admin_session")
install_admin_guard(bp)


@bp.post("/session", ctx_public=True)
@doc("管理登录 Log in to the console", tag="admin", body=LoginIn, ok=(200, AdminSessionOut), secured=False,
     errors={400: ["invalid_input", "malformed_json"], 401: ["admin_credentials_invalid"],
             403: ["admin_account_disabled"], 429: ["rate_limited", "admin_account_locked"]},
     description="Five wrong passwords in a row lock the account for 15 minutes (429 with Retry-After). "
                 "The token is opaque; it ends after 2 hours without a request and 12 hours after login.")
@admin_login_limited
async def login(request: Request) -> HTTPResponse:
    body = parse_body(request, LoginIn)
    issued = await request.app.ctx.admin_sessions.login(username=body.username, password=body.password,
                                                        ip=client_ip(request), request_id=str(request.id))
    return json({"token": issued.token, "token_type": "Bearer",
                 "expires_at": presenters.when(issued.expires_at), "ends_at": presenters.when(issued.ends_at),
                 "me": presenters.me(issued.principal)},
                ensure_ascii=False, headers={"Cache-Control": "no-store"})


@bp.delete("/session")
@admin_doc("退出管理登录 Log out (ends this session)", roles=None, ok=(204, None))
async def logout(request: Request) -> HTTPResponse:
    await request.app.ctx.admin_sessions.logout(principal=current_admin(request), request_id=str(request.id))
    return empty()


@bp.get("/me")
@admin_doc("当前管理账号 Who am I", roles=None, ok=(200, MeOut))
async def me(request: Request) -> HTTPResponse:
    return json(presenters.me(current_admin(request)), ensure_ascii=False)
