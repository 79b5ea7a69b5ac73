"""Operations in the console (operators): the outbox's deliveries filtered by state, node and age,
one delivery with every attempt, resending one or a selection, and the daily summary. Through the
delivery service the JSON routes use: each resend is audited there, exactly as from /admin/v1."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from sanic import Request
from sanic.response import HTTPResponse, redirect

from bff.admin import presenters
from bff.console.forms import FieldInvalid, whole_number
from bff.console.pages import bp
from bff.console.render import page
from bff.console.session import console_page
from domain.delivery import rules
from domain.delivery.views import DeliveryFilters
from domain.shared.errors import DomainError

OPERATORS = ("operator",)
AGES = {"": ("任意时间", None), "1h": ("一小时以前", timedelta(hours=1)), "6h": ("六小时以前", timedelta(hours=6)),
        "24h": ("一天以前", timedelta(days=1)), "7d": ("七天以前", timedelta(days=7))}
STATUS_NAMES = {"pending": "待投递", "delivered": "已送达", "parked": "已搁置"}
PAGE_SIZE = 50


@bp.get("/deliveries")
@console_page(*OPERATORS)
async def deliveries(request: Request) -> HTTPResponse:
    chosen = _chosen(request)
    found = await request.app.ctx.delivery.list(_filters(request, chosen), limit=PAGE_SIZE,
                                                cursor=request.args.get("cursor") or None)
    return await page(request, "operations/deliveries.html", title="投递", items=found.items,
                      next_cursor=found.next_cursor, chosen=chosen, ages=AGES, statuses=rules.STATUSES,
                      status_names=STATUS_NAMES, when=presenters.when, done=request.args.get("done"),
                      error=request.args.get("error"))


@bp.get("/deliveries/<delivery_id:delivery_id>")
@console_page(*OPERATORS)
async def delivery(request: Request, delivery_id: int) -> HTTPResponse:
    found = await request.app.ctx.delivery.get(delivery_id)
    return await page(request, "operations/delivery.html", title=f"投递 {delivery_id}", item=found,
                      status_names=STATUS_NAMES, when=presenters.when, payload_keys=sorted(found.payload or {}))


@bp.post("/deliveries/resend")
@console_page(*OPERATORS)
async def resend(request: Request) -> HTTPResponse:
    """The deliveries ticked (each a resend of its own, audited as from the JSON route)."""
    ids, refused = [], []
    for value in request.form.getlist("id") or []:
        try:  # a tampered page's id is a refusal on the page, never a 500 (nor a query with it)
            number = whole_number(value, field="id", message="投递编号应为整数")
        except FieldInvalid as bad:
            refused.append(f"{value[:24]}：{bad.message}")
            continue
        if number is not None:
            ids.append(number)
    reason = (request.form.get("reason") or "").strip()[:200] or None
    resent = 0
    for delivery_id in ids:
        try:
            await request.app.ctx.delivery.resend(delivery_id=delivery_id, actor=request.ctx.admin,
                                                  request_id=str(request.id), reason=reason)
            resent += 1
        except DomainError as error:
            refused.append(f"{delivery_id}：{error.detail}")
    back = request.form.get("back") or "/console/deliveries?status=parked"
    if not back.startswith("/console/deliveries"):
        back = "/console/deliveries"
    joiner = "&" if "?" in back else "?"
    message = f"done={quote(f'已重发 {resent} 条')}" + (f"&error={quote('；'.join(refused)[:300])}" if refused else "")
    return redirect(f"{back}{joiner}{message}", status=303)


@bp.get("/deliveries/summary")
@console_page(*OPERATORS)
async def summary(request: Request) -> HTTPResponse:
    service = request.app.ctx.delivery
    latest = await service.latest_summary() or await service.take_summary()
    return await page(request, "operations/summary.html", title="投递日报", summary=latest,
                      status_names=STATUS_NAMES)


def _chosen(request: Request) -> dict[str, str]:
    status = request.args.get("status") or ""
    age = request.args.get("age") or ""
    target = (request.args.get("target") or "").strip()[:64]
    # a node id is printable: anything else (a NUL, which PostgreSQL refuses in text) filters nothing
    return {"status": status if status in rules.STATUSES else "", "age": age if age in AGES else "",
            "target": target if target.isprintable() else ""}


def _filters(request: Request, chosen: dict[str, str]) -> DeliveryFilters:
    older = AGES[chosen["age"]][1]
    return DeliveryFilters(status=chosen["status"] or None, target=chosen["target"] or None,
                           created_until=request.app.ctx.clock.now() - older if older else None)
