"""The catalog in the console: finding matters with the search citizens use, a matter as each
channel shows it (the channels' own presenters), switching where it is offered, and the search
words — the everyday words product teams maintain (社保 = 社会保险), in effect in search at once.
Through the catalog and search-word services the JSON routes use: the same checks, the same audit."""
from __future__ import annotations

import json
from urllib.parse import quote

from sanic import Request
from sanic.response import HTTPResponse, redirect

from bff.common import catalog_presenters
from bff.common.channels import CHANNEL_NAMED
from bff.console.forms import FieldInvalid, whole_number
from bff.console.pages import bp
from bff.console.render import page
from bff.console.session import console_page
from domain.catalog.service import SearchFilters
from domain.shared.errors import DomainError

EDITORS = ("catalog_admin",)
READERS = ("catalog_admin", "operator", "topic_editor")
CHANNELS = {"wechat": "微信小程序", "alipay": "支付宝小程序", "app": "App", "pc": "网页"}


@bp.get("/matters")
@console_page(*READERS)
async def matters(request: Request) -> HTTPResponse:
    q = (request.args.get("q") or "").strip()[:60]
    region = (request.args.get("region") or "").strip()[:12]
    found, meanings, error = [], (), None
    if q:
        try:
            page_ = await request.app.ctx.catalog.search(q=q, filters=SearchFilters(region_code=region or None),
                                                         limit=30)
            found, meanings = page_.items, await request.app.ctx.catalog.words.preview(q)
        except DomainError as refused:
            error = refused.detail
    return await page(request, "catalog/matters.html", title="事项", q=q, region=region, matters=found,
                      meanings=meanings, error=error, channels=CHANNELS)


@bp.get("/matters/<code:matter_code>")
@console_page(*READERS)
async def matter(request: Request, code: str) -> HTTPResponse:
    found = await request.app.ctx.catalog.any_matter(code=code)
    shown = {channel: _detail_of(channel)(found) for channel in found.channels}
    return await page(request, "catalog/matter.html", title=found.name, matter=found, shown=shown,
                      channels=CHANNELS, pretty=_pretty, done=request.args.get("done"), error=request.args.get("error"))


@bp.post("/matters/<code:matter_code>/channels")
@console_page(*EDITORS)
async def set_channels(request: Request, code: str) -> HTTPResponse:
    chosen = [c for c in request.form.getlist("channels") or [] if c]
    try:
        await request.app.ctx.catalog.set_channels(actor=request.ctx.admin, code=code, channels=chosen,
                                                   request_id=str(request.id))
    except DomainError as refused:
        return redirect(f"/console/matters/{code}?error={quote(refused.detail)}", status=303)
    return redirect(f"/console/matters/{code}?done={quote('已更新展示渠道')}", status=303)


@bp.get("/search-words")
@console_page(*READERS)
async def search_words(request: Request) -> HTTPResponse:
    return await _words_page(request)


@bp.post("/search-words")
@console_page(*EDITORS)
async def add_search_word(request: Request) -> HTTPResponse:
    words, form = request.app.ctx.catalog.words, request.form
    try:
        await words.add(actor=request.ctx.admin, term=(form.get("term") or "").strip(),
                        expansions=_expansions(form.get("expansions")), two_way=form.get("two_way") == "1",
                        note=(form.get("note") or "").strip(), request_id=str(request.id))
    except DomainError as refused:
        return await _words_page(request, status=400, problems=_problems(refused), form=form)
    return redirect(f"/console/search-words?done={quote('已添加，搜索即时生效')}", status=303)


@bp.post("/search-words/<word_id:search_word_id>/delete")
@console_page(*EDITORS)
async def remove_search_word(request: Request, word_id: int) -> HTTPResponse:
    try:
        version = whole_number(request.form.get("version")) or None
    except FieldInvalid as bad:
        return await _words_page(request, status=400, problems={"form": bad.message})
    try:
        await request.app.ctx.catalog.words.remove(actor=request.ctx.admin, word_id=word_id, version=version,
                                                   request_id=str(request.id))
    except DomainError as refused:
        return await _words_page(request, status=409, problems={"form": refused.detail})
    return redirect(f"/console/search-words?done={quote('已删除')}", status=303)


async def _words_page(request: Request, *, status: int = 200, problems: dict | None = None, form=None) -> HTTPResponse:
    words = await request.app.ctx.catalog.words.list()
    return await page(request, "catalog/search_words.html", status=status, title="搜索词", words=words,
                      problems=problems or {}, form=form or {}, done=request.args.get("done"))


def _expansions(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").replace("，", ",").replace("、", ",").split(",") if part.strip()]


def _problems(refused: DomainError) -> dict:
    found = {p["field"].split("[")[0]: p["message"] for p in refused.extra.get("errors") or []}
    return found or {"form": refused.detail}


def _detail_of(channel: str):
    """The channel's own presenter of a matter's page (bff/common/channels.py); the web (``pc``) has
    no channel BFF of its own and reads the full shape, as the app does."""
    served = CHANNEL_NAMED.get(channel)
    return served.shapes.matter_detail if served else catalog_presenters.detail_full


def _pretty(value) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2, default=str)
