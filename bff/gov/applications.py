"""``/gov/v1/applications``: what the handling node posts back about an application (callbacks),
and the uploaded materials it fetches. Signed by the node (bff/gov/auth.py); only the node that
handles an application may touch it — any other node gets 404, as for a number that does not exist.
"""
from __future__ import annotations

import hashlib
from typing import Literal

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json, raw
from sanic_ext import openapi

from bff.common.docs import Header, doc
from bff.common.parsing import parse_body
from bff.common.schemas import AwareTime, Body, EventId, Out
from bff.gov.auth import NODE_REFUSALS, SECURITY_SCHEME
from bff.gov.routes import bp
from domain.applications import rules

class EventIn(Body):
    event_id: EventId
    type: Literal[rules.EVENT_TYPES]  # type: ignore[valid-type]
    occurred_at: AwareTime
    reason: str | None = Field(None, max_length=1000, description="shown to the citizen (补正、不予受理的理由)")
    department_reference: str | None = Field(None, max_length=64,
                                             description="the department's own case number")



class EventOut(Out):
    number: str
    event_id: str
    status: str = Field(description="the application's status after this event")
    status_name: str
    applied: bool = Field(description="false: recorded but not applied (see outcome)")
    outcome: str = Field(description="applied | waiting (ahead of events not yet received; applied when "
                                     "they arrive) | stale (would move the application backwards)")
    replayed: bool = Field(description="true: this event_id was received before; this is the first answer")


@bp.post("/applications/<number:application_number>/events")
@doc("办件事件回调 A department's event about an application", tag="gov", body=EventIn, ok=(200, EventOut),
     secured=False, errors={400: ["invalid_input", "malformed_json"], 401: NODE_REFUSALS,
                            404: ["application_not_found"], 409: ["event_id_reused", "application_changed"]},
     description="Signed by the handling node. Types: accepted, rejected, review_started, "
                 "correction_requested, approved, refused, completed. Deduplicated by event_id; events "
                 "that arrive out of order never move an application backwards.")
@openapi.secured(SECURITY_SCHEME)
async def post_event(request: Request, number: str) -> HTTPResponse:
    body = parse_body(request, EventIn)
    outcome = await request.app.ctx.applications.apply_event(
        node_code=request.ctx.node.code, number=number, event_id=body.event_id, type=body.type,
        occurred_at=body.occurred_at, reason=body.reason, department_reference=body.department_reference)
    return json({"number": outcome.number, "event_id": outcome.event_id, "status": outcome.status,
                 "status_name": rules.STATUS_NAMES[outcome.status], "applied": outcome.applied,
                 "outcome": outcome.outcome, "replayed": outcome.replayed}, ensure_ascii=False)


@bp.get("/applications/<number:application_number>/materials/<material_id:material_id>")
@doc("下载申请材料 Fetch an uploaded material", tag="gov", secured=False,
     ok=(200, {"type": "string", "format": "binary"}), ok_media="application/octet-stream",
     ok_also={media: {"type": "string", "format": "binary"} for media in ("application/pdf", "image/jpeg", "image/png")},
     ok_headers=(Header("X-Content-SHA256", "the file's SHA-256, hex"),),
     errors={401: NODE_REFUSALS, 404: ["application_not_found"]},
     description="The bytes of a file named in a delivery's `materials[].download`, with its content type.")
@openapi.secured(SECURITY_SCHEME)
async def get_material(request: Request, number: str, material_id: str) -> HTTPResponse:
    content = await request.app.ctx.applications.material_for_node(
        node_code=request.ctx.node.code, number=number, material_id=material_id)
    headers = {"X-Content-SHA256": hashlib.sha256(content.data).hexdigest(), "Cache-Control": "no-store"}
    return raw(content.data, content_type=content.content_type, headers=headers)
