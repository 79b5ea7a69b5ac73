"""A citizen's health code on every channel (docs/health-codes.md): declare trips and health
information, see one's pooled records, get the code of a region (JSON or its QR image), list
one's current codes. Everything needs real name (L2): records are kept by ID number."""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json, raw

from bff.common import health_presenters as present
from bff.common.auth import require_assurance
from bff.common.channel_routes import ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import IDEMPOTENCY_KEY, doc
from bff.common.health_schemas import CodeIn, CodeList, CodeOut, DeclarationIn, RecordList, RecordOut
from bff.common.limits import rate_limited
from bff.common.parsing import idempotency_key, parse_body, parse_query
from bff.common.schemas import Query
from bff.common.wallet_routes import IMAGE, qr_image
from domain.health.records import Trip
from domain.health.service import Declaration

AUTH = {401: ["token_invalid"], 403: ["assurance_required"]}
BAD_BODY = ["invalid_input", "malformed_json"]
NO_STORE = {"Cache-Control": "no-store"}
routes = ChannelRoutes()


class CodeQuery(Query):
    format: Literal["json", "png", "svg"] = Field("json", description="png or svg: the QR image")
    scale: int = Field(6, ge=1, le=20)


@routes.post("/me/health/declarations")
@doc("健康申报 Declare trips and health", body=DeclarationIn, ok=(201, RecordOut), headers=(IDEMPOTENCY_KEY,),
     errors={**AUTH, 400: [*BAD_BODY, "health_record_invalid"], 409: ["idempotency_key_reused"],
             429: ["rate_limited"]},
     description="Where you are, where you have been in the last 14 days, symptoms. Pooled with what regions "
                 "pushed; the newest declaration counts. With an `Idempotency-Key`, a retry answers the first "
                 "declaration (the same key with another body: 409).")
@rate_limited("health-declare", capacity=20, per_seconds=3600, by="person")
@require_assurance("L2")
async def declare(request: Request, channel: Channel) -> HTTPResponse:
    body = parse_body(request, DeclarationIn)
    declaration = Declaration(region=body.region, symptoms=tuple(body.symptoms),
                              trips=tuple(Trip(region=t.region, arrived=t.arrived, left=t.left) for t in body.trips))
    view = await request.app.ctx.health.declare(person_id=request.ctx.auth.subject, declaration=declaration,
                                                idempotency_key=idempotency_key(request))
    return json(present.record(view), status=201, ensure_ascii=False, headers=NO_STORE)


@routes.get("/me/health/records")
@doc("我的健康信息 My pooled health records", ok=(200, RecordList), errors=AUTH,
     description="Tests, vaccinations and trips regions pushed about you, and your declarations, newest first.")
@require_assurance("L2")
async def my_records(request: Request, channel: Channel) -> HTTPResponse:
    items = await request.app.ctx.health.my_records(person_id=request.ctx.auth.subject)
    return json({"items": [present.record(v) for v in items]}, ensure_ascii=False, headers=NO_STORE)


@routes.post("/me/health/codes")
@doc("申领健康码 Get the health code of a region", body=CodeIn, query=CodeQuery, ok=(201, CodeOut),
     ok_also={"image/png": IMAGE, "image/svg+xml": IMAGE},
     errors={**AUTH, 400: [*BAD_BODY, "upstream_rejected"], 409: ["health_declaration_required", "health_rules_missing",
                                         "health_no_signing_key"], 429: ["rate_limited"],
             502: ["health_region_signature_invalid"], 503: ["upstream_unavailable"]},
     description="The region's published rules give the colour and its reasons from your records; the "
                 "region's key signs it (HC1, verifiable offline anywhere). It replaces your current code "
                 "there; an older, greener code is revoked. `?format=png|svg` answers the QR image.")
@rate_limited("health-code", capacity=30, per_seconds=3600, by="person")
@require_assurance("L2")
async def make_code(request: Request, channel: Channel) -> HTTPResponse:
    query = parse_query(request, CodeQuery)
    body = parse_body(request, CodeIn)
    view = await request.app.ctx.health.make_code(person_id=request.ctx.auth.subject, region=body.region)
    if query.format != "json":
        image, media = qr_image(view.credential, query.format, query.scale)
        return raw(image, status=201, content_type=media, headers=NO_STORE)
    return json(present.code(view), status=201, ensure_ascii=False, headers=NO_STORE)


@routes.get("/me/health/codes")
@doc("我的健康码 My current codes", ok=(200, CodeList), errors=AUTH,
     description="One per region where you got one: colour, reasons, validity, and whether it was revoked.")
@require_assurance("L2")
async def my_codes(request: Request, channel: Channel) -> HTTPResponse:
    items = await request.app.ctx.health.my_codes(person_id=request.ctx.auth.subject)
    return json({"items": [present.code(v) for v in items]}, ensure_ascii=False, headers=NO_STORE)
