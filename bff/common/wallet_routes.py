"""The license wallet (证照夹) on every citizen channel: list, detail (masked unless a fresh face scan
asks for the full view), history, showing a license (亮证, JSON or a QR image), the access log,
and consents to departments.

The list is shaped per channel (compact on mini-programs).
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager

import segno
from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json, raw

from bff.common import license_presenters as present
from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import Header, doc
from bff.common.license_schemas import (
    AccessList,
    ConsentGrantIn,
    ConsentList,
    ConsentOut,
    LicenseDetailOut,
    WALLET_ITEM,
    LicenseHistory,
    PresentationOut,
    PresentIn,
)
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body, parse_query
from bff.common.schemas import Id64, Query, items_of
from domain.identity import token_rules
from domain.identity.errors import AssuranceRequired

AUTH = {401: ["token_invalid"]}
WALLET = {**AUTH, 403: ["assurance_required"]}
NO_STORE = {"Cache-Control": "no-store"}
IMAGE = {"type": "string", "format": "binary", "description": "the token as a QR code (?format=png or svg)"}
PRESENTATION_ID = Header("X-Presentation-Id", "the presentation's id (on the QR image answers)")
EXPIRES_AT = Header("X-Expires-At", "when the token expires, ISO 8601 (on the QR image answers)")
LICENSES = ByChannel(lambda channel: items_of(WALLET_ITEM[channel.shapes.license.shape]))

routes = ChannelRoutes()


class DetailQuery(Query):
    full: bool = Field(False, description="show sensitive fields in clear: needs L3 (a fresh face scan)")


class PresentQuery(Query):
    format: str = Field("json", pattern="^(json|png|svg)$", description="json, or the QR image itself")
    scale: int = Field(4, ge=1, le=12, description="QR module size in pixels")


class AccessQuery(Query):
    limit: int = Field(50, ge=1, le=200)
    before: Id64 | None = Field(None, description="seq from the previous page's next_before")


@routes.get("/licenses")
@doc("我的证照 My licenses (wallet)", ok=(200, LICENSES), errors=WALLET,
     description="Needs real name (L2). Status is the GB/T 36901 status now (expired included). Also lists "
                 "the licenses of minors you are a guardian of (by their birth medical certificate), "
                 "`held_by: minor` with the child masked, read-only; each such read is in the child's "
                 "access log.")
async def license_wallet(request: Request, channel: Channel) -> HTTPResponse:
    person = request.ctx.auth.subject
    own = await request.app.ctx.licenses.wallet(person_id=person)
    minors = await request.app.ctx.licenses.guarded(person_id=person)
    items = [{**channel.shapes.license(item), "held_by": "self"} for item in own]
    items += [present.guarded(item, channel.shapes.license) for item in minors]
    return json({"items": items}, ensure_ascii=False, headers=NO_STORE)


@routes.get("/licenses/<license_id:license_id>")
@doc("证照详情 A license's data (masked)", ok=(200, LicenseDetailOut), query=DetailQuery,
     errors={**WALLET, 404: ["license_not_found"]},
     description="Sensitive fields (ID numbers, names, addresses…) are masked; `?full=true` shows them "
                 "after a fresh face scan (L3), else 403 `assurance_required`. Each read is logged.")
async def license_detail(request: Request, channel: Channel, license_id: str) -> HTTPResponse:
    query = parse_query(request, DetailQuery)
    with _face_scan_pointed(channel):
        shown = await request.app.ctx.licenses.detail(person_id=request.ctx.auth.subject, license_id=license_id,
                                                      full=query.full, assurance=request.ctx.auth.assurance)
    return json(present.license_detail(shown), ensure_ascii=False, headers=NO_STORE)


@routes.get("/licenses/<license_id:license_id>/history")
@doc("证照变更记录 A license's history", ok=(200, LicenseHistory),
     errors={**WALLET, 404: ["license_not_found"]})
async def license_history(request: Request, channel: Channel, license_id: str) -> HTTPResponse:
    events = await request.app.ctx.licenses.history(person_id=request.ctx.auth.subject, license_id=license_id)
    return json({"items": [present.event(e) for e in events]}, ensure_ascii=False)


@routes.post("/licenses/<license_id:license_id>/presentations")
@doc("亮证 Show a license: a 3-minute token (or its QR image)", body=PresentIn, query=PresentQuery,
     ok_headers=(PRESENTATION_ID, EXPIRES_AT), ok_also={"image/png": IMAGE, "image/svg+xml": IMAGE},
     ok=(201, PresentationOut),
     errors={**WALLET, 400: ["invalid_input", "malformed_json"], 404: ["license_not_found"],
             409: ["license_not_presentable"], 429: ["rate_limited"]},
     description="Shows only the chosen fields (selective disclosure). Sensitive fields (the type's "
                 "`sensitive_fields`: names, ID numbers, addresses…) need a fresh face scan (L3), else 403 "
                 "`assurance_required` naming them. `?format=png` or `svg` answers "
                 "with the QR image (error correction M) and the token's id and expiry in headers "
                 "`X-Presentation-Id`, `X-Expires-At`.")
@rate_limited("present", capacity=30, per_seconds=60, by="person")
async def license_present(request: Request, channel: Channel, license_id: str) -> HTTPResponse:
    query = parse_query(request, PresentQuery)
    body = parse_body(request, PresentIn)
    with _face_scan_pointed(channel):
        made = await request.app.ctx.presentations.present(person_id=request.ctx.auth.subject,
                                                           license_id=license_id, fields=body.fields,
                                                           assurance=request.ctx.auth.assurance)
    expires = present.when(made.expires_at)
    if query.format != "json":
        image, media = qr_image(made.token, query.format, query.scale)
        return raw(image, status=201, content_type=media,
                   headers={**NO_STORE, "X-Presentation-Id": made.id, "X-Expires-At": expires})
    seconds = int((made.expires_at - request.app.ctx.clock.now()).total_seconds())
    return json({"id": made.id, "token": made.token, "expires_at": expires, "expires_in": max(0, seconds),
                 "fields": list(made.fields), "bytes": len(made.token.encode())},
                status=201, ensure_ascii=False, headers=NO_STORE)


@routes.get("/license-access-log")
@doc("用证记录 Who read my licenses", ok=(200, AccessList), query=AccessQuery, errors=WALLET,
     description="Every read — by a department, a verifier, the hub or yourself — newest first, with "
                 "its place in the hash chain.")
async def license_access_log(request: Request, channel: Channel) -> HTTPResponse:
    query = parse_query(request, AccessQuery)
    items = await request.app.ctx.licenses.access_log(person_id=request.ctx.auth.subject, limit=query.limit,
                                                      before=query.before)
    more = len(items) == query.limit and items[-1].seq > 1
    return json({"items": [present.access(i) for i in items], "next_before": items[-1].seq if more else None},
                ensure_ascii=False)


@routes.get("/license-consents")
@doc("证照授权 My consents and departments' requests", ok=(200, ConsentList), errors=WALLET)
async def license_consents(request: Request, channel: Channel) -> HTTPResponse:
    items = await request.app.ctx.license_exchange.consents(person_id=request.ctx.auth.subject)
    return json({"items": [present.consent(i) for i in items]}, ensure_ascii=False)


@routes.post("/license-consents")
@doc("授权部门用证 Grant a consent", body=ConsentGrantIn, ok=(201, ConsentOut),
     errors={**WALLET, 400: ["invalid_input", "malformed_json", "license_invalid"],
             404: ["consent_not_found", "node_not_found"], 409: ["consent_state_conflict"]},
     description="Grant a department's filed request (`consent_id`), or give a department a consent for a "
                 "license type: `once` (the next request) or `standing` (until `days` pass or you revoke). "
                 "A consent releases the license's sensitive fields too: it needs a fresh face scan (L3), "
                 "else 403 `assurance_required`.")
async def license_consent_grant(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, ConsentGrantIn)
    with _face_scan_pointed(channel):
        given = await request.app.ctx.license_exchange.grant(
            person_id=request.ctx.auth.subject, assurance=request.ctx.auth.assurance, consent_id=body.consent_id,
            department=body.department, type_code=body.type, purpose=body.purpose, kind=body.kind,
            days=body.days)
    return json(present.consent(given), status=201, ensure_ascii=False)


@routes.delete("/license-consents/<consent_id:consent_id>")
@doc("撤销授权 Revoke a consent", ok=(200, ConsentOut),
     errors={**WALLET, 404: ["consent_not_found"], 409: ["consent_state_conflict"]})
async def license_consent_revoke(request: Request, channel: Channel, consent_id: str) -> HTTPResponse:
    revoked = await request.app.ctx.license_exchange.revoke(person_id=request.ctx.auth.subject,
                                                            consent_id=consent_id)
    return json(present.consent(revoked), ensure_ascii=False)

def qr_image(token: str, kind: str, scale: int) -> tuple[bytes, str]:
    """The token as a QR code, error correction M (a phone screen scanned at a counter)."""
    code = segno.make(token, error="m", micro=False, boost_error=False)
    out = io.BytesIO()
    code.save(out, kind=kind, scale=scale, border=4)
    return out.getvalue(), "image/png" if kind == "png" else "image/svg+xml"


@contextmanager
def _face_scan_pointed(channel: Channel) -> Iterator[None]:
    """The domain decides whether a field may leave; when it asks for a fresh face scan, the answer
    says where this channel starts one."""
    try:
        yield
    except AssuranceRequired as refused:
        if refused.extra.get("required") == token_rules.acr_of(3):
            refused.extra["face_verification"] = channel.face_verifications
        raise
