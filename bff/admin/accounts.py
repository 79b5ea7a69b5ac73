"""Accounts of product teams and operators (``/admin/v1/accounts``): operators only."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin import presenters
from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.admin.schemas import AccountIn, AccountList, AccountOut, AccountPatch
from bff.common.parsing import parse_body

bp = Blueprint("admin_accounts")
install_admin_guard(bp)
OPERATORS = ("operator",)
INVALID = ["invalid_input", "malformed_json", "admin_account_invalid"]


@bp.post("/accounts")
@admin_doc("新建管理账号 Create an account", roles=OPERATORS, body=AccountIn, ok=(201, AccountOut),
           errors={400: INVALID, 409: ["admin_account_exists"]},
           description="Passwords: 12 to 128 characters, not containing the username; stored as argon2id.")
@require_role(*OPERATORS)
async def create(request: Request) -> HTTPResponse:
    body = parse_body(request, AccountIn)
    view = await request.app.ctx.admin_accounts.create(
        actor=current_admin(request), username=body.username, display_name=body.display_name,
        password=body.password, roles=list(body.roles), request_id=str(request.id))
    return json(presenters.account(view), status=201, ensure_ascii=False)


@bp.get("/accounts")
@admin_doc("管理账号列表 List accounts", roles=OPERATORS, ok=(200, AccountList))
@require_role(*OPERATORS)
async def list_accounts(request: Request) -> HTTPResponse:
    views = await request.app.ctx.admin_accounts.list()
    return json({"items": [presenters.account(v) for v in views]}, ensure_ascii=False)


@bp.patch("/accounts/<username:admin_username>")
@admin_doc("修改管理账号 Change roles, status or password", roles=OPERATORS, body=AccountPatch,
           ok=(200, AccountOut),
           errors={400: INVALID, 404: ["admin_account_not_found"], 409: ["last_operator"]},
           description="Only the fields sent change. At least one active operator always remains.")
@require_role(*OPERATORS)
async def update(request: Request, username: str) -> HTTPResponse:
    body = parse_body(request, AccountPatch)
    changes = {name: getattr(body, name) for name in body.model_fields_set}
    if "roles" in changes and changes["roles"] is not None:
        changes["roles"] = list(changes["roles"])
    view = await request.app.ctx.admin_accounts.update(actor=current_admin(request), username=username,
                                                       request_id=str(request.id), **changes)
    return json(presenters.account(view), ensure_ascii=False)
