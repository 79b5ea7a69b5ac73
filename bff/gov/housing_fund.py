"""``/gov/v1/housing-fund``: what a fund centre posts back about the payouts it carries out.

Signed by the centre's node (bff/gov/auth.py). Only the centre that pays a payout may post about
it — any other node gets 404, as for a payout id that does not exist. docs/housing-fund.md.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from bff.common.docs import doc
from bff.common.parsing import parse_body
from bff.common.schemas import AwareTime, Body, EventId, Out
from bff.gov.auth import NODE_REFUSALS, SECURITY_SCHEME, authenticate_node
from domain.housing_fund import rules

bp = Blueprint("gov_housing_fund", url_prefix="/gov/v1")
bp.on_request(authenticate_node)

class PayoutEventIn(Body):
    event_id: EventId
    type: Literal[rules.PAYOUT_EVENTS]  # type: ignore[valid-type]
    occurred_at: AwareTime
    reason: str | None = Field(None, max_length=1000, description="why it failed or was returned (shown to the citizen)")
    bank_reference: str | None = Field(None, max_length=64, description="the bank's transfer reference")



class PayoutEventOut(Out):
    payout_id: str
    event_id: str
    status: str = Field(description="the withdrawal's payout status after this event")
    status_name: str
    applied: bool = Field(description="false: recorded, not applied (the payout was already final)")
    outcome: str = Field(description="applied | stale")
    replayed: bool = Field(description="true: this event_id was received before; this is the first answer")


@bp.post("/housing-fund/payouts/<payout_id:payout_id>/events")
@doc("支付结果回调 A fund centre's event about a payout", tag="gov", body=PayoutEventIn, ok=(200, PayoutEventOut),
     secured=False, errors={400: ["invalid_input", "malformed_json"], 401: NODE_REFUSALS, 404: ["payout_not_found"],
                            409: ["event_id_reused"]},
     description="Signed by the paying centre. Types: paid, failed, returned (by the bank). Deduplicated by "
                 "event_id; only a requested payout changes: a paid, failed or returned one never does.")
@openapi.secured(SECURITY_SCHEME)
async def post_payout_event(request: Request, payout_id: str) -> HTTPResponse:
    body = parse_body(request, PayoutEventIn)
    outcome = await request.app.ctx.housing_fund.apply_payout_event(
        node_code=request.ctx.node.code, payout_id=payout_id, event_id=body.event_id, type=body.type,
        occurred_at=body.occurred_at, reason=body.reason, bank_reference=body.bank_reference)
    return json({"payout_id": outcome.payout_id, "event_id": outcome.event_id, "status": outcome.status,
                 "status_name": rules.STATUS_NAMES[outcome.status], "applied": outcome.applied,
                 "outcome": outcome.outcome, "replayed": outcome.replayed}, ensure_ascii=False)
