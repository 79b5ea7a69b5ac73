"""Matter search and detail, the same use cases on every channel with the channel's own shape.

Browsing needs no login (``ctx_public``). A channel only sees matters offered on that channel.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Request
from sanic.response import HTTPResponse, json

from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import doc
from bff.common.parsing import parse_query
from bff.common.schemas import Query, items_of
from domain.catalog.service import SearchFilters

REGION = r"^\d{12}$"
MATTERS = ByChannel(lambda channel: items_of(channel.shapes.matter.shape, "next_cursor"))
MATTER = ByChannel(lambda channel: channel.shapes.matter_detail.shape)

routes = ChannelRoutes()


class MatterQuery(Query):
    q: str | None = Field(None, max_length=50, description="words of the name, or pinyin / initials (gjj)")
    region: str | None = Field(None, pattern=REGION, description="the citizen's region (12 digits)")
    department: str | None = Field(None, max_length=64)
    kind: str | None = Field(None, max_length=32)
    audience: Literal["individual", "legal_person"] | None = None
    life_event: str | None = Field(None, max_length=32)
    cross_province: bool | None = None
    zone: str | None = Field(None, max_length=16)
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=50)


@routes.get("/matters", ctx_public=True)
@doc("搜索办事事项 Search matters", ok=(200, MATTERS), secured=False,
     query=MatterQuery, errors={400: ["invalid_search", "invalid_cursor"]},
     description="Chinese words (two characters and up find what LIKE finds), pinyin or initials; "
                 "filters by region (with the region's chain, national and cross-province items), "
                 "department, kind, audience, life event, cross-province, zone. Ranked by match "
                 "quality then popularity; `next_cursor` pages stably.")
async def search(request: Request, channel: Channel) -> HTTPResponse:
    query = parse_query(request, MatterQuery)
    filters = SearchFilters(region_code=query.region, department_code=query.department, kind=query.kind,
                            audience=query.audience, life_event=query.life_event,
                            cross_province=query.cross_province, channel=channel.name, zone=query.zone)
    page = await request.app.ctx.catalog.search(q=query.q, filters=filters, cursor=query.cursor,
                                                limit=query.limit)
    return json({"items": [channel.shapes.matter(m) for m in page.items], "next_cursor": page.next_cursor},
                ensure_ascii=False)


@routes.get("/matters/<code:matter_code>", ctx_public=True)
@doc("事项详情 Matter detail", ok=(200, MATTER), secured=False,
     errors={404: ["matter_not_found"]},
     description="A matter the channel does not offer answers 404, as search does not list it. Materials (and the e-license type that satisfies each), time limits in working "
                 "days, fee in fen, online depth, channels, cross-province flag and the form schema.")
async def matter(request: Request, channel: Channel, code: str) -> HTTPResponse:
    found = await request.app.ctx.catalog.matter(code=code, channel=channel.name, count_view=True)
    return json(channel.shapes.matter_detail(found), ensure_ascii=False)
