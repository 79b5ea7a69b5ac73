"""The admin guard: every ``/admin/v1`` route needs a live console session unless it opts out.

``install_admin_guard(bp)`` authenticates each request of ``bp`` (routes registered with
``ctx_public=True`` are skipped: only the login) and puts an ``AdminPrincipal`` (id, username,
roles) on ``request.ctx.admin``. ``@require_role("topic_editor", "operator")`` then admits a
principal holding any one of the roles, and answers 403 ``role_required`` naming them.

Decorator order on a route (as in the channels: the documentation outermost)::

    @bp.post("/topics")
    @admin_doc("新建专题", roles=EDITORS, body=TopicIn, ok=(201, TopicOut), errors={...})
    @require_role("topic_editor")
    async def create(request): ...
"""
from __future__ import annotations

from functools import wraps

from sanic import Blueprint, Request
from sanic_ext import openapi
from sanic_ext.extensions.openapi.builders import OperationStore

from bff.common.docs import doc
from bff.common.errors import problem
from domain.admin import rules
from domain.admin.errors import AdminSessionInvalid, RoleRequired
from domain.admin.service import AdminPrincipal

SECURITY_SCHEME = "adminSession"
CHALLENGE = 'Bearer realm="govhub-admin"'


def install_admin_guard(bp: Blueprint) -> None:
    @bp.on_request(priority=50)
    async def authenticate_admin(request: Request):
        if getattr(request.route.ctx, "public", False):
            return None
        try:
            request.ctx.admin = await request.app.ctx.admin_sessions.authenticate(_bearer(request))
        except AdminSessionInvalid as error:
            # Answered here rather than raised: a 401 must carry the challenge header (RFC 6750).
            return problem(401, error.code, error.title, error.detail, request,
                           {"WWW-Authenticate": f'{CHALLENGE}, error="invalid_token"'})
        return None


def current_admin(request: Request) -> AdminPrincipal:
    admin = getattr(request.ctx, "admin", None)
    if admin is None:
        raise AdminSessionInvalid("该接口需要管理登录")
    return admin


def require_role(*roles: str):
    """Admit a principal holding any of ``roles``; 403 ``role_required`` (with ``roles``) otherwise."""
    unknown = [role for role in roles if role not in rules.ROLES]
    if not roles or unknown:  # a mistyped role would lock everyone out: fail at import instead
        raise ValueError(f"unknown roles {unknown or roles}; known: {rules.ROLES}")

    def decorate(handler):
        @wraps(handler)
        async def guarded(request: Request, *args, **kwargs):
            admin = current_admin(request)
            if not admin.has_role(*roles):
                raise RoleRequired("该操作需要以下角色之一：" + "、".join(roles), roles=list(roles))
            return await handler(request, *args, **kwargs)

        store = OperationStore()  # keep documentation applied below this decorator
        if handler in store:
            store[guarded] = store[handler]
        return guarded

    return decorate


def admin_doc(summary: str, *, roles: tuple[str, ...] | None, body=None, ok=(200, None),
              errors: dict[int, list[str]] | None = None, description: str = "", **more):
    """``doc`` for admin routes: the session scheme, 401 always, 403 when ``roles`` are needed.
    ``more``: the rest of ``doc``'s options (query, headers, ok_headers)."""
    errors = dict(errors or {})
    errors.setdefault(401, []).insert(0, "admin_session_invalid")
    if roles:
        errors.setdefault(403, []).insert(0, "role_required")
        description = (description + "\n\n" if description else "") + "Roles: " + ", ".join(roles) + "."
    documented = doc(summary, tag="admin", body=body, ok=ok, errors=errors, secured=False,
                     description=description, **more)

    def decorate(handler):
        return openapi.secured(SECURITY_SCHEME)(documented(handler))

    return decorate


def describe_security(app) -> None:
    app.ext.openapi.add_security_scheme(
        SECURITY_SCHEME, "http", scheme="bearer", bearer_format="opaque",
        description="The token from POST /admin/v1/session (docs/admin.md): "
                    "ends after 2 h idle, 12 h at most.")


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AdminSessionInvalid("缺少管理登录令牌（Authorization: Bearer ...）")
    return token.strip()
