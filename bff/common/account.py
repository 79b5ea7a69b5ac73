"""Routes every citizen channel shares: refresh, logout, me, real name, face verification.

The use cases are the same everywhere and only the person's shape differs by channel (channels
shape, they never decide).
"""
from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, empty, json

from bff.common import presenters
from bff.common.auth import require_assurance
from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import DEVICE_ID, doc
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body
from bff.common.schemas import FaceResultOut, FaceStartOut, IdentityOut, RealNameIn, RealNameOut, RefreshIn, Session
from domain.shared.errors import InvalidInput

AUTH_ERRORS = {401: ["token_invalid"]}
PERSON = ByChannel(lambda channel: channel.shapes.person.shape)

routes = ChannelRoutes()


def device_id(request: Request) -> str | None:
    """The app's device id (X-Device-Id): kept with the login, so printable text of 128 at most."""
    value = request.headers.get("X-Device-Id")
    if value and not (len(value) <= 128 and value.isprintable()):
        raise InvalidInput("X-Device-Id 应为1到128个可见字符", errors=[{"field": "X-Device-Id", "message": "格式有误"}])
    return value or None


@routes.post("/session/refresh", ctx_public=True)
@doc("刷新登录 Rotate the refresh token", body=RefreshIn, ok=(200, Session), secured=False,
     headers=(DEVICE_ID,),
     errors={400: ["invalid_input", "malformed_json"], 401: ["token_invalid", "refresh_token_reused"],
             429: ["rate_limited"]},
     description="Every refresh token works once. Reusing a spent one revokes the whole login.")
@rate_limited("refresh", capacity=30, per_seconds=60)
async def refresh(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, RefreshIn)
    result = await request.app.ctx.identity.refresh(refresh_token=body.refresh_token, channel=channel.name,
                                                    device_id=device_id(request))
    return json(_session(channel, result.session, result.person), ensure_ascii=False)


@routes.delete("/session")
@doc("退出登录 Log out (revokes this login's tokens)", ok=(204, None), errors=AUTH_ERRORS)
async def logout(request: Request, channel: Channel) -> HTTPResponse:
    await request.app.ctx.tokens.revoke(family_id=request.ctx.auth.family_id)
    return empty()


@routes.get("/me")
@doc("我的信息 Who am I (masked)", ok=(200, PERSON), errors=AUTH_ERRORS)
async def me(request: Request, channel: Channel) -> HTTPResponse:
    view = await request.app.ctx.identity.me(person_id=request.ctx.auth.subject)
    return json(channel.shapes.person(view), ensure_ascii=False)


@routes.post("/me/real-name")
@doc("实名认证 Verify real name (L2)", body=RealNameIn, ok=(200, RealNameOut), headers=(DEVICE_ID,),
     errors={400: ["invalid_input", "invalid_id_number", "real_name_mismatch"], 401: ["token_invalid"],
             409: ["real_name_already_bound"], 429: ["rate_limited"], 503: ["upstream_unavailable"]},
     description="Checks name and ID number with public security. If another login of the same "
                 "citizen verified before, both become one person and `session` carries new tokens.")
@rate_limited("real-name", capacity=10, per_seconds=3600, by="person")
async def real_name(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, RealNameIn)
    result = await request.app.ctx.identity.verify_real_name(
        person_id=request.ctx.auth.subject, channel=channel.name, name=body.name, id_number=body.id_number,
        family_id=request.ctx.auth.family_id, device_id=device_id(request))
    session = _session(channel, result.session, result.person) if result.session else None
    return json({"person": channel.shapes.person(result.person), "session": session}, ensure_ascii=False)


@routes.post("/me/face-verifications")
@doc("开始人脸核验 Start a face verification (L3)", ok=(201, FaceStartOut),
     errors={401: ["token_invalid"], 403: ["assurance_required"], 429: ["rate_limited"],
             503: ["upstream_unavailable"]},
     description="Returns a token for the device's face SDK; the session lives 1,800 s.")
@rate_limited("face", capacity=10, per_seconds=3600, by="person")
async def start_face(request: Request, channel: Channel) -> HTTPResponse:
    started = await request.app.ctx.identity.start_face(person_id=request.ctx.auth.subject, channel=channel.name)
    return json({"id": started.id, "sdk_token": started.sdk_token, "expires_in": started.expires_in}, status=201)


@routes.get("/me/face-verifications/<session_id:face_session_id>")
@doc("人脸核验结果 Read the face verification result (once)", ok=(200, FaceResultOut),
     headers=(DEVICE_ID,),
     errors={400: ["invalid_input"], 401: ["token_invalid"], 404: ["face_session_not_found"],
             409: ["face_result_consumed"],
             503: ["upstream_unavailable"]},
     description="Readable once: a second read is refused. A pass returns an L3 session.")
@rate_limited("face-result", capacity=30, per_seconds=60, by="person")
async def face_result(request: Request, channel: Channel, session_id: str) -> HTTPResponse:
    result = await request.app.ctx.identity.face_result(person_id=request.ctx.auth.subject,
                                                        session_id=session_id, channel=channel.name,
                                                        device_id=device_id(request))
    session = _session(channel, result.session, result.person) if result.session else None
    return json({"passed": result.passed, "reason": result.reason, "person": channel.shapes.person(result.person),
                 "session": session}, ensure_ascii=False)


@routes.get("/me/identity")
@doc("查看完整身份信息 Show my full name and ID number (needs a fresh face scan, L3)",
     ok=(200, IdentityOut), errors={401: ["token_invalid"], 403: ["assurance_required"]},
     description="A step-up route: below L3 it answers 403 `assurance_required` with where to "
                 "start face verification.")
@require_assurance(3)
async def identity(request: Request, channel: Channel) -> HTTPResponse:
    shown = await request.app.ctx.identity.reveal(person_id=request.ctx.auth.subject)
    return json(shown, ensure_ascii=False, headers={"Cache-Control": "no-store"})


def _session(channel: Channel, issued, view) -> dict:
    return presenters.session(issued, channel.shapes.person(view))
