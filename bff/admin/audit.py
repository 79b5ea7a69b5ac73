"""The audit trail (``/admin/v1/audit``): operators read who changed what, newest first."""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin import presenters
from bff.admin.auth import admin_doc, install_admin_guard, require_role
from bff.admin.schemas import AuditPageOut
from bff.common.parsing import parse_query
from bff.common.schemas import Query
from domain.audit.service import AuditFilters, AuditLog

bp = Blueprint("admin_audit")
install_admin_guard(bp)


class AuditQuery(Query):
    target_type: str | None = Field(None, max_length=32, examples=["topic"])
    target_id: str | None = Field(None, max_length=128)
    actor: str | None = Field(None, max_length=64, description="the acting username")
    since: str | None = Field(None, max_length=40, description="ISO 8601; without an offset, Beijing time")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=64, description="`next_cursor` of the previous page")


@bp.get("/audit")
@admin_doc("审计日志 Read the audit trail", roles=("operator",), ok=(200, AuditPageOut),
           query=AuditQuery, errors={400: ["audit_query_invalid"]},
           description="Newest first; paging with `cursor` from the previous page.")
@require_role("operator")
async def audit(request: Request) -> HTTPResponse:
    query = parse_query(request, AuditQuery)
    filters = AuditFilters(target_type=query.target_type, target_id=query.target_id, actor=query.actor,
                           since=presenters.parse_time(query.since, "since"))
    page = await AuditLog.list(filters, limit=query.limit, cursor=query.cursor)
    return json({"items": [presenters.audit_entry(e) for e in page.entries], "next_cursor": page.next_cursor},
                ensure_ascii=False)

