"""One-thing bundles in the console: declarations with their validation result, editing a draft and
publishing it (catalog admins; operators may read), and runs under way with their steps (operators).
Through the bundle service the JSON routes use: the same checks, the same audit entries."""
from __future__ import annotations

import json

from sanic import Request
from sanic.response import HTTPResponse, redirect

from bff.common import bundle_presenters
from bff.console.forms import FieldInvalid, whole_number
from bff.console.pages import bp
from bff.console.render import page
from bff.console.session import console_page
from domain.bundles.rules import RUN_STATUSES
from domain.shared.errors import DomainError

EDITORS = ("catalog_admin",)
READERS = ("catalog_admin", "operator")
OPERATORS = ("operator",)


@bp.get("/bundles")
@console_page(*READERS)
async def bundles(request: Request) -> HTTPResponse:
    found = await request.app.ctx.bundles.declarations.list()
    return await page(request, "bundles/list.html", title="一件事", bundles=found)


@bp.get("/bundles/<code:bundle_code>")
@console_page(*READERS)
async def bundle(request: Request, code: str) -> HTTPResponse:
    return await _declaration(request, code)


@bp.post("/bundles/<code:bundle_code>")
@console_page(*EDITORS)
async def save_bundle(request: Request, code: str) -> HTTPResponse:
    text = request.form.get("definition") or ""
    try:
        version = whole_number(request.form.get("version")) or None
    except FieldInvalid as bad:
        return await _declaration(request, code, status=400, text=text, problems=[_problem(bad)])
    try:
        definition = json.loads(text)
        if not isinstance(definition, dict):
            raise ValueError("not an object")
    except ValueError as error:
        return await _declaration(request, code, status=400, text=text,
                                  problems=[{"field": "definition", "message": f"应为 JSON 对象：{error}"}])
    try:
        await request.app.ctx.bundles.declarations.save(
            actor=request.ctx.admin, code=code, definition=definition, request_id=str(request.id),
            version=version)
    except DomainError as refused:
        return await _declaration(request, code, status=400, text=text, problems=_problems(refused))
    return redirect(f"/console/bundles/{code}", status=303)


@bp.post("/bundles/<code:bundle_code>/publication")
@console_page(*EDITORS)
async def publish_bundle(request: Request, code: str) -> HTTPResponse:
    try:
        version = whole_number(request.form.get("version")) or 0
    except FieldInvalid as bad:
        return await _declaration(request, code, status=400, problems=[_problem(bad)])
    try:
        await request.app.ctx.bundles.declarations.publish(
            actor=request.ctx.admin, code=code, version=version, request_id=str(request.id))
    except DomainError as refused:
        return await _declaration(request, code, status=400, problems=_problems(refused))
    return redirect(f"/console/bundles/{code}", status=303)


@bp.get("/bundle-runs")
@console_page(*OPERATORS)
async def runs(request: Request) -> HTTPResponse:
    status = request.args.get("status") if request.args.get("status") in RUN_STATUSES else None
    stuck = True if request.args.get("stuck") == "1" else None
    found = await request.app.ctx.bundles.operator_runs(status=status, stuck=stuck, bundle_code=None, limit=100)
    return await page(request, "bundles/runs.html", title="一件事办件", runs=[_run(r) for r in found],
                      statuses=RUN_STATUSES, chosen=status or "", stuck=bool(stuck))


@bp.get("/bundle-runs/<number:bundle_run_number>")
@console_page(*OPERATORS)
async def run(request: Request, number: str) -> HTTPResponse:
    found = _run(await request.app.ctx.bundles.operator_run(number=number))
    return await page(request, "bundles/run.html", title=f"一件事办件 {number}", run=found)


async def _declaration(request: Request, code: str, *, status: int = 200, text: str | None = None,
                       problems: list | None = None) -> HTTPResponse:
    declarations = request.app.ctx.bundles.declarations
    view = await declarations.get(code)
    validation = await declarations.validate(code=code)
    return await page(request, "bundles/detail.html", status=status, title=view.name, bundle=view,
                      validation=validation, problems=problems or [],
                      text=text if text is not None else json.dumps(view.draft, ensure_ascii=False, indent=2))


def _run(view) -> dict:
    shown = bundle_presenters.detail_full(view)
    shown.pop("form", None)  # operators never see the citizen's form
    return {**shown, "stuck": view.stuck}


def _problems(refused: DomainError) -> list[dict]:
    return refused.extra.get("errors") or [{"field": "", "message": refused.detail}]


def _problem(bad: FieldInvalid) -> dict:
    return {"field": bad.field, "message": bad.message}
