"""The audit trail (``/admin/v1/audit``): who changed what, newest first. Who reads which part is
the audit trail's own rule (``AuditLog.read``, domain/audit/rules.py), the same for the console."""
from __future__ import annotations

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin import presenters
from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.admin.schemas import AuditPageOut
from bff.common.parsing import parse_query
from bff.common.schemas import Query
from domain.audit.rules import READS
from domain.audit.service import AuditFilters, AuditLog

READERS = tuple(READS)  # every role reads some of it; which part is AuditLog.read's rule
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
@admin_doc("审计日志 Read the audit trail", roles=READERS, ok=(200, AuditPageOut),
           query=AuditQuery, errors={400: ["audit_query_invalid"]},
           description="Newest first; paging with `cursor` from the previous page. Operators read every "
                       "entry; a topic editor only with `target_type=topic`, a catalog admin only with "
                       "`target_type` `matter`, `search_word` or `bundle` (the history of what the role "
                       "changes); anything else is 403 `role_required` naming the roles that may read it.")
@require_role(*READERS)
async def audit(request: Request) -> HTTPResponse:
    query = parse_query(request, AuditQuery)
    filters = AuditFilters(target_type=query.target_type, target_id=query.target_id, actor=query.actor,
                           since=presenters.parse_time(query.since, "since"))
    page = await AuditLog.read(reader=current_admin(request), filters=filters, limit=query.limit,
                               cursor=query.cursor)
    return json({"items": [presenters.audit_entry(e) for e in page.entries], "next_cursor": page.next_cursor},
                ensure_ascii=False)

