"""The console's login: the admin accounts, roles, lockout and sessions of ``/admin/v1``
(domain/admin), carried in a cookie instead of a bearer header, and a CSRF token on every form.

- The session cookie holds the admin session's token: ``HttpOnly`` (no script reads it), ``Secure``
  (never over plain HTTP — browsers treat http://localhost as secure for development),
  ``SameSite=Strict`` (no other site's page sends it), ``Path=/console``.
- Every state-changing request (POST) carries a CSRF token: the keyed hash of the session token
  (the vault's lookup key, context ``console.csrf``), in the form's hidden ``csrf_token`` field or
  the ``X-CSRF-Token`` header (htmx). Before login, the login form's token is a random value also
  set in a short-lived cookie (double submit): a login cannot be forged from another site either.
- Pages answer HTML; a missing or dead session redirects to the login page (303); a role the page
  needs and the admin lacks is a 403 page. The domain decides every rule (the same services as the
  JSON routes, which write the audit trail exactly as there).
"""
from __future__ import annotations

import hmac
import secrets
from functools import wraps

from sanic import Request
from sanic.response import HTTPResponse, redirect

from bff.console.render import forbidden
from domain.admin.errors import AdminSessionInvalid
from domain.admin.service import AdminPrincipal

COOKIE = "govhub_console"
LOGIN_COOKIE = "govhub_console_login"
CSRF_FIELD, CSRF_HEADER = "csrf_token", "X-CSRF-Token"
CSRF_CONTEXT = "console.csrf"
PATH = "/console"
LOGIN_SECONDS = 900


def set_cookie(response: HTTPResponse, name: str, value: str, *, max_age: int | None = None) -> None:
    response.add_cookie(name, value, path=PATH, httponly=True, secure=True, samesite="Strict",
                        max_age=max_age)


def clear_cookie(response: HTTPResponse, name: str) -> None:
    response.delete_cookie(name, path=PATH)


def csrf_token(request: Request, session_token: str) -> str:
    return request.app.ctx.vault.lookup_hash(session_token, context=CSRF_CONTEXT)


def sent_csrf(request: Request) -> str:
    return request.headers.get(CSRF_HEADER) or (request.form.get(CSRF_FIELD) if request.form else "") or ""


def login_token(request: Request) -> tuple[str, bool]:
    """The login form's double-submit token: the one in the cookie, or a new one (True: set it)."""
    held = request.cookies.get(LOGIN_COOKIE)
    return (held, False) if held and len(held) == 43 else (secrets.token_urlsafe(32), True)


def login_csrf_ok(request: Request) -> bool:
    held = request.cookies.get(LOGIN_COOKIE) or ""
    return bool(held) and hmac.compare_digest(held, sent_csrf(request))


class CsrfRefused(Exception):
    """A state-changing request without the session's CSRF token."""


async def principal_of(request: Request) -> AdminPrincipal | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return await request.app.ctx.admin_sessions.authenticate(token)
    except AdminSessionInvalid:
        return None


def console_page(*roles: str):
    """A page for a live console session (any admin, or one holding any of ``roles``). Puts the
    principal and the CSRF token on ``request.ctx``; checks the CSRF token of every POST."""

    def decorate(handler):
        @wraps(handler)
        async def guarded(request: Request, *args, **kwargs):
            admin = await principal_of(request)
            if admin is None:
                return redirect(f"{PATH}/login?next={request.path}", status=303)
            token = request.cookies[COOKIE]
            request.ctx.admin, request.ctx.csrf = admin, csrf_token(request, token)
            if request.method == "POST" and not hmac.compare_digest(request.ctx.csrf, sent_csrf(request)):
                raise CsrfRefused()
            if roles and not admin.has_role(*roles):
                return await forbidden(request, roles)
            return await handler(request, *args, **kwargs)

        return guarded

    return decorate
