"""One-thing bundles for product teams and operators (``/admin/v1/bundles``, ``/admin/v1/bundle-runs``).

Declarations are the catalog's business: ``catalog_admin`` creates and changes a bundle's draft,
validates it and publishes it (every save and publication is audited); operators may read them.
Runs are the operators' (``operator``): which are stuck past their deadline, which step holds them.
"""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.common import bundle_presenters
from bff.common.parsing import parse_body, parse_query
from bff.common.bundle_schemas import RunEventOut, RunStepFull, RunSummaryFull
from bff.common.schemas import Body, Out, Query, Version, items_of
from domain.bundles.rules import RUN_STATUSES
from domain.bundles.views import BundleView
from domain.shared.clock import SHANGHAI

bp = Blueprint("admin_bundles")
install_admin_guard(bp)

EDITORS = ("catalog_admin",)
READERS = ("catalog_admin", "operator")
OPERATORS = ("operator",)
NOT_FOUND = {404: ["bundle_not_found"]}


class BundleIn(Body):
    definition: dict = Field(description="the declaration: name, region_code, deadline_days, form, prefill, "
                                         "confirmation, steps (docs/bundles.md); its code is the path's")
    version: Version | None = Field(None, description="the version read; omit to create")


class PublishIn(Body):
    version: Version = Field(description="the draft's version that was validated")


class AdminBundleOut(Out):
    code: str
    name: str
    status: Literal["draft", "published", "retired"]
    version: int
    published_version: int | None
    draft: dict
    published: dict | None
    updated_at: str
    published_at: str | None


class AdminBundleList(Out):
    items: list[AdminBundleOut]


class ValidationOut(Out):
    code: str
    version: int
    valid: bool
    problems: list[dict[str, str]]


class RunQuery(Query):
    status: Literal[RUN_STATUSES] | None = None  # type: ignore[valid-type]
    stuck: bool | None = Field(None, description="true: past the deadline and flagged")
    bundle: str | None = Field(None, max_length=64)
    limit: int = Field(50, ge=1, le=200)


class AdminRunOut(RunSummaryFull):
    """A run as operators see it: every step and the timeline, never the citizen's form."""

    steps: list[RunStepFull]
    failed_steps: list[str]
    allowed_actions: list[str]
    timeline: list[RunEventOut]
    stuck: bool = Field(description="past its deadline and flagged")


AdminRunList = items_of(AdminRunOut)


def _time(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def _bundle(view: BundleView) -> dict:
    return {"code": view.code, "name": view.name, "status": view.status, "version": view.version,
            "published_version": view.published_version, "draft": view.draft, "published": view.published,
            "updated_at": _time(view.updated_at), "published_at": _time(view.published_at)}


@bp.get("/bundles")
@admin_doc("一件事列表 Bundles (drafts and published)", roles=READERS, ok=(200, AdminBundleList))
@require_role(*READERS)
async def list_bundles(request: Request) -> HTTPResponse:
    found = await request.app.ctx.bundles.declarations.list()
    return json({"items": [_bundle(b) for b in found]}, ensure_ascii=False)


@bp.get("/bundles/<code:bundle_code>")
@admin_doc("一件事配置 A bundle's declaration", roles=READERS, ok=(200, AdminBundleOut), errors=NOT_FOUND)
@require_role(*READERS)
async def detail(request: Request, code: str) -> HTTPResponse:
    return json(_bundle(await request.app.ctx.bundles.declarations.get(code)), ensure_ascii=False)


@bp.put("/bundles/<code:bundle_code>")
@admin_doc("新建或修改一件事 Create a bundle, or change its draft", roles=EDITORS, body=BundleIn,
           ok=(200, AdminBundleOut),
           errors={400: ["invalid_input", "malformed_json", "bundle_invalid"], **NOT_FOUND,
                   409: ["bundle_exists", "bundle_version_conflict"]},
           description="Without `version` a new bundle is created (201); with the version read, its draft "
                       "changes. The shape is checked here; matters, cycles and coverage when validating "
                       "or publishing. Citizens keep running the published version until the next "
                       "publication; runs under way keep the version they started with.")
@require_role(*EDITORS)
async def save(request: Request, code: str) -> HTTPResponse:
    body = parse_body(request, BundleIn)
    view = await request.app.ctx.bundles.declarations.save(
        actor=current_admin(request), code=code, definition=body.definition, version=body.version,
        request_id=str(request.id))
    return json(_bundle(view), status=201 if body.version is None else 200, ensure_ascii=False)


@bp.get("/bundles/<code:bundle_code>/validation")
@admin_doc("校验一件事 Validate the draft", roles=READERS, ok=(200, ValidationOut), errors=NOT_FOUND,
           description="Every problem that keeps the draft from publication: unknown or offline matters, "
                       "steps needing uploads, unknown or cyclic dependencies, a matter's required field "
                       "that no source covers, a source not available when its step runs.")
@require_role(*READERS)
async def validate(request: Request, code: str) -> HTTPResponse:
    bundles = request.app.ctx.bundles.declarations
    view = await bundles.get(code)
    problems = await bundles.validate(code=code)
    return json({"code": code, "version": view.version, "valid": not problems, "problems": problems},
                ensure_ascii=False)


@bp.post("/bundles/<code:bundle_code>/publication")
@admin_doc("发布一件事 Publish the draft", roles=EDITORS, body=PublishIn, ok=(200, AdminBundleOut),
           errors={400: ["invalid_input", "malformed_json", "bundle_invalid"], **NOT_FOUND,
                   409: ["bundle_version_conflict"]},
           description="Validated again first: a draft with problems is refused with the list in `errors`.")
@require_role(*EDITORS)
async def publish(request: Request, code: str) -> HTTPResponse:
    body = parse_body(request, PublishIn)
    view = await request.app.ctx.bundles.declarations.publish(
        actor=current_admin(request), code=code, version=body.version, request_id=str(request.id))
    return json(_bundle(view), ensure_ascii=False)


@bp.get("/bundle-runs")
@admin_doc("一件事办件 Bundles under way (for operators)", roles=OPERATORS, ok=(200, AdminRunList), query=RunQuery,
           description="`stuck=true`: past their deadline (the job `flag_stuck_bundles` flags them and logs "
                       "`bundle_stuck`). Forms are not shown.")
@require_role(*OPERATORS)
async def runs(request: Request) -> HTTPResponse:
    query = parse_query(request, RunQuery)
    found = await request.app.ctx.bundles.operator_runs(status=query.status, stuck=query.stuck,
                                                        bundle_code=query.bundle, limit=query.limit)
    return json({"items": [_run(r) for r in found]}, ensure_ascii=False)


@bp.get("/bundle-runs/<number:bundle_run_number>")
@admin_doc("一件事办件详情 One bundle under way", roles=OPERATORS, ok=(200, AdminRunOut),
           errors={404: ["bundle_run_not_found"]})
@require_role(*OPERATORS)
async def run(request: Request, number: str) -> HTTPResponse:
    return json(_run(await request.app.ctx.bundles.operator_run(number=number)), ensure_ascii=False)


def _run(view) -> dict:
    shown = bundle_presenters.detail_full(view)
    shown.pop("form", None)
    return {**shown, "stuck": view.stuck}
