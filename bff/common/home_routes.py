"""``GET /home`` on every channel: one call for the home page, shaped per channel, cached by clients.

Mini-programs get a compact body (few topics entries, short hot list: setData is slow on large
payloads); the app gets every entry and an ETag so it can keep the page for offline use.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, empty, raw

from bff.common import jsonio
from bff.common.auth import optional_auth
from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import ETAG, IF_NONE_MATCH, doc
from bff.common.parsing import parse_query
from bff.common.schemas import Query

log = logging.getLogger("govhub.home")
NATIONWIDE = "000000000000"
RENDERED_SECONDS = 1.0
OPEN_ITEMS, OPEN_ITEMS_NULL = b'"open_items":', b'"open_items":null'  # as jsonio.dumps writes the member


class HomeQuery(Query):
    region: str = Field(NATIONWIDE, pattern=r"^\d{12}$", description="the citizen's region (12 digits)")


PAGE = ByChannel(lambda channel: channel.shapes.home.shape)
# The app keeps the page for offline use: it gets an ETag and If-None-Match answers 304.
CONDITIONAL = ByChannel(lambda channel: () if channel.shapes.compact else (IF_NONE_MATCH,))
TAGGED = ByChannel(lambda channel: () if channel.shapes.compact else (ETAG,))
NOT_MODIFIED = ByChannel(lambda channel: None if channel.shapes.compact else
                         {304: "Not modified: the ETag sent in If-None-Match is current"})
ABOUT = ByChannel(lambda channel: "Needs no login; with a valid bearer token it also counts the citizen's "
                                  "open items. " + ("Compact for mini-programs." if channel.shapes.compact
                                                    else "Sends an ETag; If-None-Match answers 304."))

routes = ChannelRoutes()
# (channel, region) -> (at, topics generation, body, etag): the page everyone there gets
rendered: dict[tuple[str, str], tuple[float, int, bytes, str]] = {}
refreshing: dict[tuple[str, str], asyncio.Task] = {}  # (channel, region) -> the one render under way for it


@routes.get("/home", ctx_public=True)
@doc("首页 Home: topics, hot list, my open items", ok=(200, PAGE), secured=False, query=HomeQuery,
     headers=CONDITIONAL, ok_headers=TAGGED, also=NOT_MODIFIED, description=ABOUT)
async def home(request: Request, channel: Channel) -> HTTPResponse:
    query = parse_query(request, HomeQuery)
    auth = await optional_auth(request, channel=channel.name)
    body, tag = await _render(request, channel, query.region)
    if auth is not None:  # the region's page with the citizen's own count: the rest is everyone's
        body = _with_open_items(body, await request.app.ctx.home.open_items(auth.subject))
        tag = _tag(body)
    headers = {"Cache-Control": "private, max-age=30" if auth else "public, max-age=30"}
    if not channel.shapes.compact:
        headers["ETag"] = tag
        if request.headers.get("If-None-Match") == tag:
            return empty(status=304, headers=headers)
    return raw(body, content_type="application/json", headers=headers)


async def _render(request: Request, channel: Channel, region: str) -> tuple[bytes, str]:
    """The body everyone in a region gets, logged out, and its ETag. It is kept for a second, then
    served while one request renders its successor; it is never served once the topics changed
    (their generation moved on: a switched topic shows within 1 s)."""
    kept = rendered.get((channel.name, region))
    if kept is None or kept[1] != request.app.ctx.topics.generation:
        return await asyncio.shield(_refresh(request, channel, region))
    if time.monotonic() - kept[0] >= RENDERED_SECONDS:
        _refresh(request, channel, region)  # its failure leaves the kept page; the next request tries again
    return kept[2], kept[3]


def _refresh(request: Request, channel: Channel, region: str) -> asyncio.Task:
    """One render per region at a time, whoever asks: when a kept page expires under load,
    every waiting request re-rendering it at once stalled them all (docs/benchmarks.md, "Home throughput")."""
    key = (channel.name, region)
    task = refreshing.get(key)
    if task is None:
        task = refreshing[key] = asyncio.create_task(_fresh(request, channel, region))
        task.add_done_callback(lambda done: _settled(key, done))
    return task


async def _fresh(request: Request, channel: Channel, region: str) -> tuple[bytes, str]:
    generation = request.app.ctx.topics.generation  # before the reads: a change during them re-renders
    view = await request.app.ctx.home.home(channel=channel.name, region_code=region)
    body = jsonio.dumps(channel.shapes.home(view), ensure_ascii=False).encode()
    tag = _tag(body)
    if len(rendered) > 5000:
        rendered.clear()
    rendered[(channel.name, region)] = (time.monotonic(), generation, body, tag)
    return body, tag


def _with_open_items(body: bytes, count: int) -> bytes:
    """The region's page with a citizen's count in place of its ``"open_items": null``: the page
    is rendered once for everyone (rendering it per citizen, topic titles and JSON, was most of a
    logged-in home's time: docs/benchmarks.md, "Logged-in home")."""
    head, found, tail = body.rpartition(OPEN_ITEMS_NULL)
    if not found:
        raise ValueError("the home page has no open_items member")
    return head + OPEN_ITEMS + str(count).encode() + tail


def _tag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def _settled(key: tuple[str, str], task: asyncio.Task) -> None:
    refreshing.pop(key, None)
    if not task.cancelled() and task.exception() is not None:  # a background refresh nobody awaited
        log.warning("home page of %s on %s not refreshed: %r", key[1], key[0], task.exception())
