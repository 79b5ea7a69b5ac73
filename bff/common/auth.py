"""Guards: every route of a channel blueprint needs a valid access token unless it opts out.

``install_guard(bp, channel="wechat")`` authenticates each request of ``bp`` (routes registered
with ``ctx_public=True`` are skipped) and puts the verified ``AccessClaims`` on
``request.ctx.auth``. ``@require_assurance("L3")`` then asks for a level of identity assurance and
tells the client where to raise it. Nothing is loaded from the database: the token says it all.

Decorator order on a route (``require_assurance`` nearest the function is simplest)::

    @bp.post("/v1/licenses/<code>/share")
    @openapi.definition(summary=..., secured="bearer")
    @require_assurance("L3")
    async def share(request, code): ...
"""
from __future__ import annotations

from functools import wraps

from sanic import Blueprint, Request
from sanic_ext.extensions.openapi.builders import OperationStore

from bff.common.channels import CHANNEL_NAMED
from bff.common.errors import problem
from domain.identity import token_rules
from domain.identity.errors import AssuranceRequired, TokenInvalid
from domain.identity.token_rules import AccessClaims

CHALLENGE = 'Bearer realm="govhub"'


def install_guard(bp: Blueprint, *, channel: str) -> None:
    audience = token_rules.audience_of(channel)  # fails at startup on a mistyped channel

    @bp.on_request(priority=50)
    async def authenticate(request: Request):
        if getattr(request.route.ctx, "public", False):
            return None
        try:
            request.ctx.auth = await request.app.ctx.tokens.verify(_bearer(request), audience=audience)
        except TokenInvalid as error:
            # Answered here rather than raised: RFC 6750 wants the challenge header on a 401.
            error_code = "invalid_request" if not request.headers.get("Authorization") else "invalid_token"
            return problem(401, error.code, error.title, error.detail, request,
                           {"WWW-Authenticate": f'{CHALLENGE}, error="{error_code}"'})
        return None


async def optional_auth(request: Request, *, channel: str) -> AccessClaims | None:
    """On a public route: the caller's claims if they sent a valid token, else None (an invalid
    token on a public page is ignored rather than refused: the page works logged out too)."""
    if not request.headers.get("Authorization"):
        return None
    try:
        auth = await request.app.ctx.tokens.verify(_bearer(request), audience=token_rules.audience_of(channel))
    except TokenInvalid:
        return None
    request.ctx.auth = auth  # verified: what reads the caller (the figures' visitor) need not read the token again
    return auth


def current_auth(request: Request) -> AccessClaims:
    """The verified claims of a guarded route (a public route has none)."""
    auth = getattr(request.ctx, "auth", None)
    if auth is None:
        raise TokenInvalid("该接口需要登录")
    return auth


def require_assurance(level: str | int):
    """Refuse (403 ``assurance_required``) a token below ``level``, pointing at face verification."""
    needed = token_rules.level_of(level)

    def decorate(handler):
        @wraps(handler)
        async def guarded(request: Request, *args, **kwargs):
            auth = current_auth(request)
            if auth.assurance < needed:
                raise AssuranceRequired(
                    f"该业务需要{token_rules.acr_of(needed)}级身份核验，请先完成人脸核验",
                    required=token_rules.acr_of(needed), current=token_rules.acr_of(auth.assurance),
                    face_verification=CHANNEL_NAMED[auth.channel].face_verifications)
            return await handler(request, *args, **kwargs)

        _keep_openapi(handler, guarded)
        return guarded

    return decorate


def _bearer(request: Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise TokenInvalid("缺少访问令牌，请先登录")
    if scheme.lower() != "bearer" or not token.strip() or " " in token.strip():
        raise TokenInvalid("Authorization 头应为 Bearer 加访问令牌")
    return token.strip()


def _keep_openapi(inner, outer) -> None:
    # sanic-ext files documentation by function object: if ``openapi.definition`` was applied
    # below us, move it to the wrapper the router will see.
    store = OperationStore()
    if inner in store:
        store[outer] = store[inner]
