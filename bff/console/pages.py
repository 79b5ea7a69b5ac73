"""The console's blueprint (``/console``): logging in and out, the start page, the static assets,
and what a refused form answers. Topics' pages are in topics.py. Not in the OpenAPI document: these
are pages for people, the JSON routes under /admin/v1 are the API."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, redirect

from bff.common.errors import STATUS_OF_KIND
from bff.common.limits import admin_login_limited, client_ip
from bff.console import session
from bff.console.render import page
from bff.console.session import COOKIE, LOGIN_COOKIE, CsrfRefused, console_page
from domain.shared.errors import DomainError, RateLimited

STATIC = Path(__file__).parent / "static"
TEMPLATES = Path(__file__).parent / "templates"
bp = Blueprint("console", url_prefix="/console")
bp.static("/static", STATIC, name="static")


@bp.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    return await _login_page(request)


@bp.post("/login")
async def login(request: Request) -> HTTPResponse:
    try:
        return await _limited_login(request)
    except RateLimited as refused:  # the limiter's: a locked account is answered inside
        response = await _login_page(request, status=429, error=f"登录尝试过于频繁，{refused.detail}",
                                     username=(request.form or {}).get("username", ""))
        if refused.retry_after:
            response.headers["Retry-After"] = str(refused.retry_after)
        return response


@admin_login_limited  # the JSON login's budget (bff/common/limits.py)
async def _limited_login(request: Request) -> HTTPResponse:
    if not session.login_csrf_ok(request):
        return await _login_page(request, status=403, error="页面已过期，请重新提交")
    form = request.form or {}
    try:
        issued = await request.app.ctx.admin_sessions.login(
            username=form.get("username", ""), password=form.get("password", ""), ip=client_ip(request),
            request_id=str(request.id))
    except DomainError as refused:  # the same answers as the JSON login: no name confirmed to exist
        status = STATUS_OF_KIND.get(refused.kind, 403)  # locked 429, wrong password 401, disabled 403
        words = refused.title if refused.detail == refused.title else f"{refused.title}：{refused.detail}"
        return await _login_page(request, status=status, error=words, username=form.get("username", ""))
    response = redirect(_next(request), status=303)
    session.set_cookie(response, COOKIE, issued.token)
    session.clear_cookie(response, LOGIN_COOKIE)
    return response


@bp.post("/logout")
@console_page()
async def logout(request: Request) -> HTTPResponse:
    await request.app.ctx.admin_sessions.logout(principal=request.ctx.admin, request_id=str(request.id))
    response = redirect(f"{session.PATH}/login", status=303)
    session.clear_cookie(response, COOKIE)
    return response


@bp.get("")
@console_page()
async def start(request: Request) -> HTTPResponse:
    return await page(request, "start.html", title="总览")


async def _login_page(request: Request, *, status: int = 200, error: str | None = None,
                      username: str = "") -> HTTPResponse:
    token, fresh = session.login_token(request)
    response = await page(request, "login.html", status=status, title="登录", error=error, username=username,
                          login_csrf=token, next=_next(request))
    if fresh:
        session.set_cookie(response, LOGIN_COOKIE, token, max_age=session.LOGIN_SECONDS)
    return response


def _next(request: Request) -> str:
    """Where to go after login: a console path only (never another site)."""
    wanted = (request.form.get("next") if request.form else None) or request.args.get("next") or session.PATH
    parts = urlsplit(wanted)
    if parts.scheme or parts.netloc or not parts.path.startswith(session.PATH) or "\\" in wanted:
        return session.PATH
    return parts.path


@bp.exception(DomainError)
async def refused(request: Request, error: DomainError) -> HTTPResponse:
    """What a domain service refused, as a page a person reads (the JSON routes answer problem+json
    with the same code): a topic, matter or delivery that does not exist, a junk paging cursor."""
    response = await page(request, "message.html", status=STATUS_OF_KIND.get(error.kind, 400), title=error.title,
                          message=error.detail or error.title, code=error.code)
    if isinstance(error, RateLimited) and error.retry_after:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


@bp.exception(CsrfRefused)
async def csrf_refused(request: Request, _error: CsrfRefused) -> HTTPResponse:
    return await page(request, "message.html", status=403, title="请求被拒绝",
                      message="表单已过期或来源不明（缺少 CSRF 令牌），请返回页面刷新后重试。")
