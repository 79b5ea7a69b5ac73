"""``GET /{channel}/v1/home``: one call for the home page, shaped per channel, cached by clients.

Mini-programs get a compact body (few topics entries, short hot list: setData is slow on large
payloads); the app gets every entry and an ETag so it can keep the page for offline use.
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from typing import Callable

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, raw

from bff.common import jsonio
from bff.common.auth import optional_auth
from bff.common.docs import ETAG, IF_NONE_MATCH, doc
from bff.common.parsing import parse_query
from bff.common.schemas import Query

log = logging.getLogger("govhub.home")
NATIONWIDE = "000000000000"
RENDERED_SECONDS = 1.0


class HomeQuery(Query):
    region: str = Field(NATIONWIDE, pattern=r"^\d{12}$", description="the citizen's region (12 digits)")


def add_home_route(bp: Blueprint, *, channel: str, present: Callable, etag: bool) -> None:
    rendered: dict[str, tuple[float, int, bytes, str]] = {}  # region -> (at, topics generation, body, etag)
    refreshing: dict[str, asyncio.Task] = {}  # region -> the one render under way for it

    async def fresh(request: Request, region: str, person_id: str | None) -> tuple[bytes, str]:
        generation = request.app.ctx.topics.generation  # before the reads: a change during them re-renders
        view = await request.app.ctx.home.home(channel=channel, region_code=region, person_id=person_id)
        body = jsonio.dumps(present(view), ensure_ascii=False).encode()
        tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
        if person_id is None:
            if len(rendered) > 5000:
                rendered.clear()
            rendered[region] = (time.monotonic(), generation, body, tag)
        return body, tag

    def refresh(request: Request, region: str) -> asyncio.Task:
        """One render per region at a time, whoever asks: when a kept page expires under load,
        every waiting request re-rendering it at once stalled them all (docs/benchmarks.md, "Home throughput")."""
        task = refreshing.get(region)
        if task is None:
            task = refreshing[region] = asyncio.create_task(fresh(request, region, None))
            task.add_done_callback(lambda done: _settled(refreshing, region, done))
        return task

    async def render(request: Request, region: str, person_id: str | None) -> tuple[bytes, str]:
        """The body and its ETag. Everyone logged out in a region gets the same page: it is kept
        for a second, then served while one request renders its successor; it is never served
        once the topics changed (their generation moved on: a switched topic shows within 1 s)."""
        if person_id is not None:
            return await fresh(request, region, person_id)
        kept = rendered.get(region)
        if kept is None or kept[1] != request.app.ctx.topics.generation:
            return await asyncio.shield(refresh(request, region))
        if time.monotonic() - kept[0] >= RENDERED_SECONDS:
            refresh(request, region)  # its failure leaves the kept page; the next request tries again
        return kept[2], kept[3]

    @bp.get("/home", ctx_public=True)
    @doc("首页 Home: topics, hot list, my open items", tag=bp.name, ok=(200, present.shape), secured=False,
         query=HomeQuery,
         headers=(IF_NONE_MATCH,) if etag else (), ok_headers=(ETAG,) if etag else (),
         also={304: "Not modified: the ETag sent in If-None-Match is current"} if etag else None,
         description="Needs no login; with a valid bearer token it also counts the citizen's open items. "
                     + ("Sends an ETag; If-None-Match answers 304." if etag else "Compact for mini-programs."))
    async def home(request: Request) -> HTTPResponse:
        query = parse_query(request, HomeQuery)
        auth = await optional_auth(request, channel=channel)
        body, tag = await render(request, query.region, auth.subject if auth else None)
        headers = {"Cache-Control": "private, max-age=30" if auth else "public, max-age=30"}
        if etag:
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                return empty(status=304, headers=headers)
        return raw(body, content_type="application/json", headers=headers)


def _settled(refreshing: dict, region: str, task: asyncio.Task) -> None:
    refreshing.pop(region, None)
    if not task.cancelled() and task.exception() is not None:  # a background refresh nobody awaited
        log.warning("home page of %s not refreshed: %r", region, task.exception())
