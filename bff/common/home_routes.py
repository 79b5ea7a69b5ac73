"""``GET /{channel}/v1/home``: one call for the home page, shaped per channel, cached by clients.

Mini-programs get a compact body (few topics entries, short hot list: setData is slow on large
payloads); the app gets every entry and an ETag so it can keep the page for offline use.
"""
from __future__ import annotations

import hashlib
import json as jsonlib
from typing import Callable

from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, raw

from bff.common.auth import optional_auth
from bff.common.docs import doc
from bff.common.parsing import parse_query

NATIONWIDE = "000000000000"


class HomeQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    region: str = Field(NATIONWIDE, pattern=r"^\d{12}$", description="the citizen's region (12 digits)")


class HomeOut(BaseModel):
    region: str
    topics: list[dict]
    hot: list[dict]
    open_items: int | None = Field(None, description="the logged-in citizen's open applications; null when logged out")


def add_home_route(bp: Blueprint, *, channel: str, present: Callable, etag: bool) -> None:
    @bp.get("/home", ctx_public=True)
    @doc("首页 Home: topics, hot list, my open items", tag=bp.name, ok=(200, HomeOut), secured=False,
         errors={400: ["invalid_input"]},
         description="Needs no login; with a valid bearer token it also counts the citizen's open items. "
                     + ("Sends an ETag; If-None-Match answers 304." if etag else "Compact for mini-programs."))
    async def home(request: Request) -> HTTPResponse:
        query = parse_query(request, HomeQuery)
        auth = await optional_auth(request, channel=channel)
        view = await request.app.ctx.home.home(channel=channel, region_code=query.region,
                                               person_id=auth.subject if auth else None)
        body = jsonlib.dumps(present(view), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Cache-Control": "private, max-age=30" if auth else "public, max-age=30"}
        if etag:
            tag = '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'
            headers["ETag"] = tag
            if request.headers.get("If-None-Match") == tag:
                return empty(status=304, headers=headers)
        return raw(body, content_type="application/json", headers=headers)
