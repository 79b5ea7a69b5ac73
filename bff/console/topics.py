"""Service topics in the console: list, create and edit with field-level errors, a phone-sized
preview as a channel shows it, publish and take offline, and the topic's audit history. Every write
goes through the topic service the JSON routes use (the same rules, the same audit entries);
the roles are theirs: editors write, operators too may switch topics on and off."""
from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import quote

from sanic import Request
from sanic.response import HTTPResponse, redirect

from bff.admin import presenters
from bff.common.channels import CHANNEL_NAMED
from bff.console.forms import FieldInvalid, whole_number
from bff.console.pages import bp
from bff.console.render import page
from bff.console.session import console_page
from domain.admin.errors import RoleRequired
from domain.audit.service import AuditFilters, AuditLog
from domain.home.service import NATIONWIDE, HomeView
from domain.shared.clock import SHANGHAI
from domain.shared.errors import DomainError
from domain.topics import rules

EDITORS = ("topic_editor",)
SWITCHERS = ("topic_editor", "operator")
CHANNEL_NAMES = {"wechat": "微信小程序", "alipay": "支付宝小程序", "app": "App", "pc": "网页"}
PREVIEW_REGION = "330106000000"


@bp.get("/topics")
@console_page(*SWITCHERS)
async def topics(request: Request) -> HTTPResponse:
    status = request.args.get("status") if request.args.get("status") in rules.STATUSES else None
    items = await request.app.ctx.topics.list(status=status)
    return await page(request, "topics/list.html", title="服务专题", topics=items, chosen=status,
                      statuses=rules.STATUSES, channel_names=CHANNEL_NAMES, day=_day)


@bp.get("/topics/new")
@console_page(*EDITORS)
async def new_topic(request: Request) -> HTTPResponse:
    return await _form(request, None, _blank())


@bp.post("/topics")
@console_page(*EDITORS)
async def create_topic(request: Request) -> HTTPResponse:
    values, problems = _read_form(request)
    if not problems:
        try:
            topic = await request.app.ctx.topics.create(actor=request.ctx.admin, request_id=str(request.id),
                                                        **values)
            return redirect(f"/console/topics/{topic.code}", status=303)
        except DomainError as refused:
            problems = _problems(refused)
    return await _form(request, None, request.form, problems, status=400)


@bp.get("/topics/<code:topic_code>")
@console_page(*SWITCHERS)
async def topic(request: Request, code: str) -> HTTPResponse:
    found = await request.app.ctx.topics.get(code)
    try:  # the audit trail's own rule, the one /admin/v1/audit applies (domain/audit/rules.py)
        history = (await AuditLog.read(reader=request.ctx.admin, filters=AuditFilters(target_type="topic",
                                                                                     target_id=code))).entries
    except RoleRequired:
        history = None
    return await page(request, "topics/detail.html", title=found.title, topic=found, history=history,
                      channel_names=CHANNEL_NAMES, channels=rules.CHANNELS, region=PREVIEW_REGION,
                      when=_when, error=request.args.get("error"))


@bp.get("/topics/<code:topic_code>/edit")
@console_page(*EDITORS)
async def edit_topic(request: Request, code: str) -> HTTPResponse:
    found = await request.app.ctx.topics.get(code)
    return await _form(request, found, _as_form(found))


@bp.post("/topics/<code:topic_code>")
@console_page(*EDITORS)
async def update_topic(request: Request, code: str) -> HTTPResponse:
    values, problems = _read_form(request)
    values.pop("code", None)
    found = await request.app.ctx.topics.get(code)
    try:
        version = whole_number(request.form.get("version"))
    except FieldInvalid as bad:  # a hidden field: shown as the whole form's problem
        problems["form"] = {"field": bad.field, "message": bad.message}
    if not problems:
        try:
            await request.app.ctx.topics.update(actor=request.ctx.admin, code=code, request_id=str(request.id),
                                                version=version, **values)
            return redirect(f"/console/topics/{code}", status=303)
        except DomainError as refused:
            problems = _problems(refused)
    return await _form(request, found, request.form, problems, status=400)


@bp.post("/topics/<code:topic_code>/publish")
@console_page(*SWITCHERS)
async def publish_topic(request: Request, code: str) -> HTTPResponse:
    return await _switch(request, code, request.app.ctx.topics.publish)


@bp.post("/topics/<code:topic_code>/offline")
@console_page(*SWITCHERS)
async def take_topic_offline(request: Request, code: str) -> HTTPResponse:
    return await _switch(request, code, request.app.ctx.topics.take_offline)


async def _switch(request: Request, code: str, act) -> HTTPResponse:
    try:
        await act(actor=request.ctx.admin, code=code, version=whole_number(request.form.get("version")),
                  request_id=str(request.id))
    except FieldInvalid as bad:
        return redirect(f"/console/topics/{code}?error={quote(bad.message)}", status=303)
    except DomainError as refused:
        message = "；".join(p["message"] for p in _problems(refused).values()) or refused.detail
        return redirect(f"/console/topics/{code}?error={quote(message)}", status=303)
    return redirect(f"/console/topics/{code}", status=303)


@bp.get("/topics/<code:topic_code>/preview")
@console_page(*SWITCHERS)
async def preview(request: Request, code: str) -> HTTPResponse:
    """The phone frame: the channel's home page for that region exactly as its BFF serves it to a
    citizen there (``channel.shapes.home`` over the home service, the body of ``GET /wx/v1/home``
    and its siblings, logged out), with this topic marked on it; when the audience does not see the
    topic now, why not (the topic service's preview) and the card it would get on that page. The web
    (``pc``) has no home route of its own: it shows the topic as ``/public/v1/topics`` serves it."""
    channel = request.args.get("channel") if request.args.get("channel") in rules.CHANNELS else "wechat"
    region = request.args.get("region") or PREVIEW_REGION
    try:
        result = await request.app.ctx.topics.preview(code, channel=channel,
                                                      region_code=None if region == NATIONWIDE else region)
    except DomainError as refused:
        return await page(request, "topics/preview.html", status=400, title="预览", error=refused.detail,
                          channel=channel)
    shown, served = presenters.preview(result), CHANNEL_NAMED.get(channel)
    home, card = None, None
    if served is not None:
        home = served.shapes.home(await request.app.ctx.home.home(channel=channel, region_code=region))
        if not shown["visible"]:
            card = served.shapes.home(HomeView(region_code=region, topics=[result.topic], hot=[],
                                               open_items=None))["topics"][0]
    return await page(request, "topics/preview.html", title="预览", shown=shown, channel=channel,
                      channel_names=CHANNEL_NAMES, region=region, compact=served is not None and served.shapes.compact,
                      home=home, card=card, code=code, body=_json(home if home is not None else shown["topic"]))


# --- the form ----------------------------------------------------------------------------------

async def _form(request: Request, topic, form, problems: dict | None = None, *, status: int = 200) -> HTTPResponse:
    return await page(request, "topics/form.html", status=status, title="编辑专题" if topic else "新建专题",
                      topic=topic, form=form, problems=problems or {}, channels=rules.CHANNELS,
                      channel_names=CHANNEL_NAMES, entry_kinds=rules.ENTRY_KINDS)


def _read_form(request: Request) -> tuple[dict, dict]:
    """The form's fields as the topic service takes them, and the problems of reading them."""
    form, problems = request.form or {}, {}
    values: dict = {"code": (form.get("code") or "").strip(), "title": (form.get("title") or "").strip(),
                    "subtitle": (form.get("subtitle") or "").strip() or None,
                    "banner_url": (form.get("banner_url") or "").strip() or None,
                    "channels": [c for c in form.getlist("channels") or [] if c],
                    "regions": [r.strip() for r in (form.get("regions") or "").split() if r.strip()],
                    "entries": [], "weight": 0}
    try:
        values["weight"] = int(form.get("weight") or 0)
    except ValueError:
        problems["weight"] = {"field": "weight", "message": "应为整数"}
    for name in ("starts_at", "ends_at"):
        try:
            values[name] = _moment(form.get(name))
        except DomainError:
            problems[name] = {"field": name, "message": "应为日期时间"}
    for number, line in enumerate((form.get("entries") or "").splitlines(), start=1):
        parts = line.split(maxsplit=2)
        if not parts:
            continue
        if len(parts) < 2:
            problems["entries"] = {"field": "entries", "message": f"第{number}行应为：类型 编码 [标题]"}
            continue
        values["entries"].append({"kind": parts[0], "ref": parts[1], "title": parts[2] if len(parts) > 2 else None,
                                  "icon": None})
    return values, problems


def _problems(refused: DomainError) -> dict:
    """Field-level problems by field (entries[3].ref counts as entries), or the whole form's."""
    by_field: dict = {}
    for problem in refused.extra.get("errors") or []:
        field = problem["field"].split("[")[0].split(".")[0] or "form"
        by_field.setdefault(field, {"field": field, "message": problem["message"]})
    return by_field or {"form": {"field": "form", "message": refused.detail}}


def _blank() -> dict:
    return {"code": "", "title": "", "subtitle": "", "banner_url": "", "channels": [], "regions": "",
            "entries": "", "weight": "0", "starts_at": "", "ends_at": ""}


def _as_form(topic) -> dict:
    return {"code": topic.code, "title": topic.title, "subtitle": topic.subtitle or "",
            "banner_url": topic.banner_url or "", "channels": list(topic.channels),
            "regions": "\n".join(topic.regions), "weight": str(topic.weight), "version": str(topic.version),
            "entries": "\n".join(" ".join(x for x in (e.kind, e.ref, e.title or "") if x) for e in topic.entries),
            "starts_at": _local(topic.starts_at), "ends_at": _local(topic.ends_at)}


def _moment(text: str | None) -> datetime | None:
    """A datetime-local field: Beijing time, what product teams plan by."""
    return presenters.parse_time(text, "time") if text and text.strip() else None


def _local(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M") if moment else ""


def _day(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d") if moment else ""


def _when(moment: datetime | None) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)
