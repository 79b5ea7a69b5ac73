"""Data sharing for the hub's operators (``/admin/v1/sharing``): every service, request and grant;
the hub's own services' requests decided here (the hub is their provider); any grant suspended or
revoked at once in an incident (never granted). The rules are the domain's (domain/sharing/grants.py)."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.common import sharing_presenters as present
from bff.common.parsing import parse_body, parse_query
from bff.common.sharing_schemas import AdminGrantQuery, ApproveIn, GrantList, GrantOut, ReasonIn, ServiceList
from domain.sharing.service import Party

bp = Blueprint("admin_sharing")
install_admin_guard(bp)

OPERATORS = ("operator",)
BAD_BODY = ["invalid_input", "malformed_json"]
GRANT_ERRORS = {400: [*BAD_BODY, "data_grant_invalid"], 404: ["data_grant_not_found"],
                409: ["data_grant_step_not_allowed"]}


def _party(request: Request) -> Party:
    return Party(operator=current_admin(request).username)


@bp.get("/sharing/services")
@admin_doc("数据服务目录 Every data service", roles=OPERATORS, ok=(200, ServiceList),
           description="Active, retiring and retired versions.")
@require_role(*OPERATORS)
async def services(request: Request) -> HTTPResponse:
    items = await request.app.ctx.sharing.catalog.list(include_retired=True)
    return json({"items": [present.service(v) for v in items]}, ensure_ascii=False)


@bp.get("/sharing/grants")
@admin_doc("共享授权 Every request and grant", roles=OPERATORS, ok=(200, GrantList), query=AdminGrantQuery)
@require_role(*OPERATORS)
async def grants(request: Request) -> HTTPResponse:
    query = parse_query(request, AdminGrantQuery)
    items = await request.app.ctx.sharing.grants.list(node=query.node, status=query.status, limit=query.limit)
    return json({"items": [present.grant(v) for v in items]}, ensure_ascii=False)


@bp.get("/sharing/grants/<grant_id:grant_id>")
@admin_doc("共享授权详情 A request or grant", roles=OPERATORS, ok=(200, GrantOut),
           errors={404: ["data_grant_not_found"]})
@require_role(*OPERATORS)
async def grant(request: Request, grant_id: str) -> HTTPResponse:
    view = await request.app.ctx.sharing.grants.get(party=_party(request), grant_id=grant_id)
    return json(present.grant(view), ensure_ascii=False)


@bp.post("/sharing/grants/<grant_id:grant_id>/approve")
@admin_doc("批准 Approve a request for the hub's own service", roles=OPERATORS, body=ApproveIn, ok=(200, GrantOut),
           errors=GRANT_ERRORS, description="Only requests whose provider is the hub (`govhub`, e.g. identity "
                                            "verification): another provider decides on its own. Audited.")
@require_role(*OPERATORS)
async def approve(request: Request, grant_id: str) -> HTTPResponse:
    approval = parse_body(request, ApproveIn).approval()
    view = await request.app.ctx.sharing.grants.approve(party=_party(request), grant_id=grant_id, approval=approval)
    return json(present.grant(view), ensure_ascii=False)


def _reasoned(step: str, summary: str, description: str):
    @bp.post(f"/sharing/grants/<grant_id:grant_id>/{step}", name=f"admin_grant_{step}")
    @admin_doc(summary, roles=OPERATORS, body=ReasonIn, ok=(200, GrantOut), errors=GRANT_ERRORS,
               description=description)
    @require_role(*OPERATORS)
    async def handler(request: Request, grant_id: str) -> HTTPResponse:
        body = parse_body(request, ReasonIn)
        act = getattr(request.app.ctx.sharing.grants, step)
        view = await act(party=_party(request), grant_id=grant_id, reason=body.reason)
        return json(present.grant(view), ensure_ascii=False)
    return handler


refuse = _reasoned("refuse", "拒绝 Refuse a request for the hub's own service", "Only the hub's own services. Audited.")
suspend = _reasoned("suspend", "暂停授权 Suspend any grant", "At once, from the next call on (an incident). Audited.")
revoke = _reasoned("revoke", "撤销授权 Revoke any grant", "Final, from the next call on. Audited.")
