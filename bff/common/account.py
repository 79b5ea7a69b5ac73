"""Routes every citizen channel shares: refresh, logout, me, real name, face verification.

Each channel blueprint adds them with its own presenter, so the use cases are the same and only
the shape differs (channels shape, they never decide).
"""
from __future__ import annotations

from typing import Callable

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from bff.common import presenters
from bff.common.auth import require_assurance
from bff.common.docs import DEVICE_ID, doc
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body
from bff.common.schemas import FaceResultOut, FaceStartOut, IdentityOut, RealNameIn, RealNameOut, RefreshIn, Session
from domain.shared.errors import InvalidInput

AUTH_ERRORS = {401: ["token_invalid"]}


def device_id(request: Request) -> str | None:
    """The app's device id (X-Device-Id): kept with the login, so printable text of 128 at most."""
    value = request.headers.get("X-Device-Id")
    if value and not (len(value) <= 128 and value.isprintable()):
        raise InvalidInput("X-Device-Id 应为1到128个可见字符", errors=[{"field": "X-Device-Id", "message": "格式有误"}])
    return value or None


def add_account_routes(bp: Blueprint, *, channel: str, present: Callable) -> None:
    tag = bp.name

    def session_body(issued, view) -> dict:
        return presenters.session(issued, present(view))

    @bp.post("/session/refresh", ctx_public=True)
    @doc("刷新登录 Rotate the refresh token", tag=tag, body=RefreshIn, ok=(200, Session), secured=False,
         headers=(DEVICE_ID,),
         errors={400: ["invalid_input", "malformed_json"], 401: ["token_invalid", "refresh_token_reused"],
                 429: ["rate_limited"]},
         description="Every refresh token works once. Reusing a spent one revokes the whole login.")
    @rate_limited("refresh", capacity=30, per_seconds=60)
    async def refresh(request: Request) -> HTTPResponse:
        body = parse_body(request, RefreshIn)
        result = await request.app.ctx.identity.refresh(refresh_token=body.refresh_token, channel=channel,
                                                        device_id=device_id(request))
        return json(session_body(result.session, result.person), ensure_ascii=False)

    @bp.delete("/session")
    @doc("退出登录 Log out (revokes this login's tokens)", tag=tag, ok=(204, None), errors=AUTH_ERRORS)
    async def logout(request: Request) -> HTTPResponse:
        await request.app.ctx.tokens.revoke(family_id=request.ctx.auth.family_id)
        return empty()

    @bp.get("/me")
    @doc("我的信息 Who am I (masked)", tag=tag, ok=(200, present.shape), errors=AUTH_ERRORS)
    async def me(request: Request) -> HTTPResponse:
        view = await request.app.ctx.identity.me(person_id=request.ctx.auth.subject)
        return json(present(view), ensure_ascii=False)

    @bp.post("/me/real-name")
    @doc("实名认证 Verify real name (L2)", tag=tag, body=RealNameIn, ok=(200, RealNameOut), headers=(DEVICE_ID,),
         errors={400: ["invalid_input", "invalid_id_number", "real_name_mismatch"], 401: ["token_invalid"],
                 409: ["real_name_already_bound"], 429: ["rate_limited"], 503: ["upstream_unavailable"]},
         description="Checks name and ID number with public security. If another login of the same "
                     "citizen verified before, both become one person and `session` carries new tokens.")
    @rate_limited("real-name", capacity=10, per_seconds=3600, by="person")
    async def real_name(request: Request) -> HTTPResponse:
        body = parse_body(request, RealNameIn)
        result = await request.app.ctx.identity.verify_real_name(
            person_id=request.ctx.auth.subject, channel=channel, name=body.name, id_number=body.id_number,
            family_id=request.ctx.auth.family_id, device_id=device_id(request))
        session = session_body(result.session, result.person) if result.session else None
        return json({"person": present(result.person), "session": session}, ensure_ascii=False)

    @bp.post("/me/face-verifications")
    @doc("开始人脸核验 Start a face verification (L3)", tag=tag, ok=(201, FaceStartOut),
         errors={401: ["token_invalid"], 403: ["assurance_required"], 429: ["rate_limited"],
                 503: ["upstream_unavailable"]},
         description="Returns a token for the device's face SDK; the session lives 1,800 s.")
    @rate_limited("face", capacity=10, per_seconds=3600, by="person")
    async def start_face(request: Request) -> HTTPResponse:
        started = await request.app.ctx.identity.start_face(person_id=request.ctx.auth.subject, channel=channel)
        return json({"id": started.id, "sdk_token": started.sdk_token, "expires_in": started.expires_in}, status=201)

    @bp.get("/me/face-verifications/<session_id:face_session_id>")
    @doc("人脸核验结果 Read the face verification result (once)", tag=tag, ok=(200, FaceResultOut),
         headers=(DEVICE_ID,),
         errors={400: ["invalid_input"], 401: ["token_invalid"], 404: ["face_session_not_found"],
                 409: ["face_result_consumed"],
                 503: ["upstream_unavailable"]},
         description="Readable once: a second read is refused. A pass returns an L3 session.")
    @rate_limited("face-result", capacity=30, per_seconds=60, by="person")
    async def face_result(request: Request, session_id: str) -> HTTPResponse:
        result = await request.app.ctx.identity.face_result(person_id=request.ctx.auth.subject,
                                                            session_id=session_id, channel=channel,
                                                            device_id=device_id(request))
        session = session_body(result.session, result.person) if result.session else None
        return json({"passed": result.passed, "reason": result.reason, "person": present(result.person),
                     "session": session}, ensure_ascii=False)


    @bp.get("/me/identity")
    @doc("查看完整身份信息 Show my full name and ID number (needs a fresh face scan, L3)", tag=tag,
         ok=(200, IdentityOut), errors={401: ["token_invalid"], 403: ["assurance_required"]},
         description="A step-up route: below L3 it answers 403 `assurance_required` with where to "
                     "start face verification.")
    @require_assurance(3)
    async def identity(request: Request) -> HTTPResponse:
        shown = await request.app.ctx.identity.reveal(person_id=request.ctx.auth.subject)
        return json(shown, ensure_ascii=False, headers={"Cache-Control": "no-store"})
