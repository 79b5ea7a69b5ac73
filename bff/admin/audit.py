"""The audit trail (``/admin/v1/audit``): operators read who changed what, newest first."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin import presenters
from bff.admin.auth import admin_doc, install_admin_guard, require_role
from bff.admin.schemas import AuditPageOut
from domain.audit.service import AuditFilters, AuditLog
from domain.shared.errors import InvalidInput

bp = Blueprint("admin_audit")
install_admin_guard(bp)


@bp.get("/audit")
@admin_doc("审计日志 Read the audit trail", roles=("operator",), ok=(200, AuditPageOut),
           errors={400: ["invalid_input", "audit_query_invalid"]},
           description="Filters (query): `target_type`, `target_id`, `actor` (username), `since` (ISO 8601). "
                       "Paging: `limit` (1-200, default 50) and `cursor` from the previous page.")
@require_role("operator")
async def audit(request: Request) -> HTTPResponse:
    args = request.args
    filters = AuditFilters(target_type=args.get("target_type"), target_id=args.get("target_id"),
                           actor=args.get("actor"), since=presenters.parse_time(args.get("since"), "since"))
    page = await AuditLog.list(filters, limit=_limit(args.get("limit")), cursor=args.get("cursor"))
    return json({"items": [presenters.audit_entry(e) for e in page.entries], "next_cursor": page.next_cursor},
                ensure_ascii=False)


def _limit(raw: str | None) -> int:
    if raw is None:
        return 50
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise InvalidInput("limit 应为1到200的整数",
                           errors=[{"field": "limit", "message": "应为1到200的整数"}])
    return int(raw)
