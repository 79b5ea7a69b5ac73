"""The catalog for catalog administrators (``/admin/v1/matters``): change one matter, retire it.

Bulk loads go through ``govhub catalog import``. Every change is audited with the same
transaction as the change. Topic editors cannot touch the catalog.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.common.catalog_presenters import MatterDetailFull, detail_full
from bff.common.parsing import parse_body
from bff.common.schemas import Body, Int16, Int32, Int64

bp = Blueprint("admin_catalog")
install_admin_guard(bp)

EDITORS = ("catalog_admin",)
READERS = ("catalog_admin", "operator", "topic_editor")


class Material(Body):
    name: str
    required: bool = True
    license_type: str | None = None
    copies: Int32 = 1
    notes: str = ""


class MatterIn(BaseModel):
    """A matter as catalog administrators write it (see docs/catalog.md for each field)."""

    model_config = ConfigDict(extra="forbid")

    catalog_code: str
    catalog_name: str | None = None
    name: str
    kind: str
    region_code: str = Field(pattern=r"^\d{12}$")
    department_code: str
    for_individuals: bool = True
    for_legal_persons: bool = False
    life_events: list[str] = []
    themes: list[str] = []
    zones: list[str] = []
    materials: list[Material] = []
    legal_limit_days: Int16 = 0
    promised_limit_days: Int16 = 0
    fee_fen: Int64 = 0
    online_depth: Int16 = 1
    channels: list[str] = ["wechat", "alipay", "app", "pc"]
    cross_province: bool = False
    instant_approval: bool = False
    entry: str | None = Field(None, max_length=16, description="which capability submits it: application, "
                              "housing_fund or bundle; omitted: the stored matter's (a new one: application)")
    form_schema: dict = {}


class MatterAdminOut(MatterDetailFull):
    status: str = Field(description="active | retired")


@bp.put("/matters/<code:matter_code>")
@admin_doc("保存事项 Create or change a matter", roles=EDITORS, body=MatterIn, ok=(200, MatterAdminOut),
           errors={400: ["invalid_input", "malformed_json", "invalid_matter"]},
           description="Idempotent: saving the same content again changes nothing and writes no audit entry.")
@require_role(*EDITORS)
async def save(request: Request, code: str) -> HTTPResponse:
    body = parse_body(request, MatterIn)
    record = {**body.model_dump(), "code": code}
    matter = await request.app.ctx.catalog.save(actor=current_admin(request), record=record,
                                                request_id=str(request.id))
    return json({**detail_full(matter), "status": matter.status}, ensure_ascii=False)


@bp.get("/matters/<code:matter_code>")
@admin_doc("事项详情 Read a matter (also a retired one)", roles=READERS, ok=(200, MatterAdminOut),
           errors={404: ["matter_not_found"]})
@require_role(*READERS)
async def read(request: Request, code: str) -> HTTPResponse:
    matter = await request.app.ctx.catalog.any_matter(code=code)
    return json({**detail_full(matter), "status": matter.status}, ensure_ascii=False)


@bp.delete("/matters/<code:matter_code>")
@admin_doc("停办事项 Retire a matter", roles=EDITORS, ok=(200, MatterAdminOut), errors={404: ["matter_not_found"]})
@require_role(*EDITORS)
async def retire(request: Request, code: str) -> HTTPResponse:
    matter = await request.app.ctx.catalog.retire(code=code, actor=current_admin(request), request_id=str(request.id))
    return json({**detail_full(matter), "status": matter.status}, ensure_ascii=False)
