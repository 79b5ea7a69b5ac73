"""The outbox for operators (``/admin/v1/deliveries``): what failed, why, and resending it.

Every route needs the ``operator`` role; every resend is written to the audit trail. Payloads
are not shown (they carry applicants' data); the application number is, to look the case up.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin import presenters
from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.common.parsing import parse_body, parse_query
from bff.common.schemas import Body, Out, Query
from domain.delivery import rules
from domain.delivery.errors import DeliveryQueryInvalid
from domain.delivery.views import DeliveryFilters, DeliveryView, day_bounds

bp = Blueprint("admin_deliveries")
install_admin_guard(bp)

OPERATORS = ("operator",)
QUERY_ERRORS = ["invalid_input", "delivery_query_invalid"]
NOT_FOUND = {404: ["delivery_not_found"]}
FILTERS_TEXT = ("Filters: `status` (pending, delivered, parked), `kind` (e.g. node.application.submitted), "
                "`target` (node code or person id), `date` (YYYY-MM-DD, the day created, Beijing time).")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class AttemptOut(Out):
    number: int = Field(description="the try's number within its round (a resend starts a new round)")
    relay: str
    started_at: str
    duration_ms: int
    outcome: Literal["delivered", "retry", "rejected", "no_sender"]
    status_code: int | None
    error: str | None
    response_excerpt: str | None = Field(description="the start of a rejecting answer")


class DeliveryOut(Out):
    id: int
    kind: str
    target: str
    number: str | None = Field(description="the application number in the payload, if any")
    status: Literal["pending", "delivered", "parked"]
    attempts: int = Field(description="tries in the current round")
    next_attempt_at: str | None
    last_error: str | None
    last_status_code: int | None
    parked_reason: str | None
    created_at: str
    updated_at: str
    delivered_at: str | None
    parked_at: str | None


class DeliveryDetailOut(DeliveryOut):
    dedupe_key: str
    payload_keys: list[str] = Field(description="the payload's fields (its values are applicants' data)")
    attempt_log: list[AttemptOut]


class DeliveryPageOut(Out):
    items: list[DeliveryOut]
    next_cursor: str | None = Field(None, description="pass as `cursor` for older deliveries; null on the last page")


class DeliveryQuery(Query):
    invalid = DeliveryQueryInvalid

    status: Literal[rules.STATUSES] | None = None  # type: ignore[valid-type]
    kind: str | None = Field(None, max_length=64, examples=["node.application.submitted"])
    target: str | None = Field(None, max_length=64, description="node code or person id")
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="the day created (Beijing time)")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=64, description="`next_cursor` of the previous page")


class ResendIn(Body):
    reason: str | None = Field(None, max_length=200, description="why (kept in the audit trail)")


class BulkResendIn(Body):
    kind: str | None = Field(None, max_length=64)
    target: str | None = Field(None, max_length=64)
    date: str | None = Field(None, description="YYYY-MM-DD: parked deliveries created that day (Beijing time)")
    all: bool = Field(False, description="required (true) when no filter is given: resend everything parked")
    reason: str | None = Field(None, max_length=200, description="why (kept in the audit trail)")


class BulkResendOut(Out):
    resent: int
    ids: list[int]


class Window(Out):
    from_: str = Field(alias="from")
    until: str


class CreatedCount(Out):
    kind: str
    target: str
    status: str
    count: int


class ParkedCount(Out):
    kind: str
    target: str
    count: int


class OldestParked(Out):
    id: int
    kind: str
    target: str
    created_at: str
    parked_at: str | None
    reason: str | None


class SummaryOut(Out):
    taken_at: str
    window: Window
    last_24h: list[CreatedCount] = Field(description="counts by kind, target and status of what was created")
    parked_total: int
    parked: list[ParkedCount] = Field(description="parked now, by kind and target, most first")
    oldest_parked: OldestParked | None
    stuck_pending: int = Field(description="pending and due over 10 minutes ago: is the relay running?")


@bp.get("/deliveries")
@admin_doc("投递列表 List deliveries", roles=OPERATORS, ok=(200, DeliveryPageOut), query=DeliveryQuery,
           errors={400: QUERY_ERRORS}, description=FILTERS_TEXT + " Newest first; paging: `limit` and `cursor`.")
@require_role(*OPERATORS)
async def list_deliveries(request: Request) -> HTTPResponse:
    query = parse_query(request, DeliveryQuery)
    page = await request.app.ctx.delivery.list(
        _filters(status=query.status, kind=query.kind, target=query.target, day=query.date),
        limit=query.limit, cursor=query.cursor)
    return json({"items": [_delivery(item) for item in page.items], "next_cursor": page.next_cursor},
                ensure_ascii=False)


@bp.get("/deliveries/summary")
@admin_doc("投递日报 The latest daily summary", roles=OPERATORS, ok=(200, SummaryOut),
           description="What the daily alert job took last (taken now if there is none yet).")
@require_role(*OPERATORS)
async def summary(request: Request) -> HTTPResponse:
    service = request.app.ctx.delivery
    latest = await service.latest_summary() or await service.take_summary()
    return json(latest, ensure_ascii=False)


@bp.get("/deliveries/<delivery_id:delivery_id>")
@admin_doc("投递详情 A delivery with every attempt", roles=OPERATORS, ok=(200, DeliveryDetailOut), errors=NOT_FOUND)
@require_role(*OPERATORS)
async def detail(request: Request, delivery_id: int) -> HTTPResponse:
    return json(_detail(await request.app.ctx.delivery.get(delivery_id)), ensure_ascii=False)


@bp.post("/deliveries/<delivery_id:delivery_id>/resend")
@admin_doc("重发投递 Resend one parked delivery", roles=OPERATORS, body=ResendIn, ok=(200, DeliveryDetailOut),
           errors={400: ["invalid_input", "malformed_json"], **NOT_FOUND, 409: ["delivery_not_resendable"]},
           description="Only a parked delivery: it is due at once with a fresh round of tries. The body may "
                       "be empty. Audited.")
@require_role(*OPERATORS)
async def resend(request: Request, delivery_id: int) -> HTTPResponse:
    body = parse_body(request, ResendIn) if (request.body or b"").strip() else ResendIn()
    view = await request.app.ctx.delivery.resend(delivery_id=delivery_id, actor=current_admin(request),
                                                 request_id=str(request.id), reason=body.reason)
    return json(_detail(view), ensure_ascii=False)


@bp.post("/deliveries/resend")
@admin_doc("批量重发 Resend parked deliveries in bulk", roles=OPERATORS, body=BulkResendIn, ok=(200, BulkResendOut),
           errors={400: ["invalid_input", "malformed_json", "delivery_query_invalid"]},
           description="Every parked delivery matching `kind`, `target` and `date` (at most 10,000 per call; "
                       "call again for more). Without any filter, `all: true` is required. One audit entry "
                       "names the filters and the ids.")
@require_role(*OPERATORS)
async def resend_bulk(request: Request) -> HTTPResponse:
    body = parse_body(request, BulkResendIn)
    if not (body.kind or body.target or body.date or body.all):
        raise DeliveryQueryInvalid("未指定筛选条件；确需重发全部已搁置投递请传 all: true",
                                   errors=[{"field": "all", "message": "无筛选条件时须为 true"}])
    filters = _filters(status=None, kind=body.kind, target=body.target, day=body.date)
    ids = await request.app.ctx.delivery.resend_parked(filters=filters, actor=current_admin(request),
                                                       request_id=str(request.id), reason=body.reason)
    return json({"resent": len(ids), "ids": ids})


def _filters(*, status: str | None, kind: str | None, target: str | None, day: str | None) -> DeliveryFilters:
    created_from = created_until = None
    if day is not None:
        try:
            if not _DAY.match(day):
                raise ValueError(day)
            created_from, created_until = day_bounds(date.fromisoformat(day))
        except ValueError:
            raise DeliveryQueryInvalid("date 应为 YYYY-MM-DD",
                                       errors=[{"field": "date", "message": "应为 YYYY-MM-DD"}]) from None
    return DeliveryFilters(status=status, kind=kind, target=target, created_from=created_from,
                           created_until=created_until)


def _delivery(view: DeliveryView) -> dict:
    return {"id": view.id, "kind": view.kind, "target": view.target, "number": view.number,
            "status": view.status, "attempts": view.attempts, "next_attempt_at": presenters.when(view.next_attempt_at),
            "last_error": view.last_error, "last_status_code": view.last_status_code,
            "parked_reason": view.parked_reason, "created_at": presenters.when(view.created_at),
            "updated_at": presenters.when(view.updated_at), "delivered_at": presenters.when(view.delivered_at),
            "parked_at": presenters.when(view.parked_at)}


def _detail(view: DeliveryView) -> dict:
    return {**_delivery(view), "dedupe_key": view.dedupe_key, "payload_keys": sorted(view.payload or {}),
            "attempt_log": [{"number": a.number, "relay": a.relay, "started_at": presenters.when(a.started_at),
                             "duration_ms": a.duration_ms, "outcome": a.outcome, "status_code": a.status_code,
                             "error": a.error, "response_excerpt": a.response_excerpt} for a in view.attempt_log]}
