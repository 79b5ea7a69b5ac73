"""Published service topics for anyone (``/public/v1/topics``): no login, as on the home pages.

``X-Cache: hit`` says this instance answered from its in-memory list, ``miss`` that it read the
database; operators and the two-instance test use it to see the cache at work.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.common.docs import Header, doc
from bff.common.parsing import parse_query
from bff.common.schemas import Query
from bff.common.topics import PublicTopic, PublicTopicList, topic_public
from domain.topics.rules import CHANNELS

bp = Blueprint("public_topics", url_prefix="/public/v1")
X_CACHE = Header("X-Cache", "`hit`: this instance answered from its in-memory list; `miss`: from the database")


class AudienceQuery(Query):
    channel: Literal[CHANNELS]  # type: ignore[valid-type]
    region: str | None = Field(None, max_length=12, description="a 12-digit region code; without it only "
                                                                "nationwide topics")


@bp.get("/topics", ctx_public=True)
@doc("服务专题 Published topics for a channel and region", tag="public", ok=(200, PublicTopicList),
     query=AudienceQuery, secured=False, ok_headers=(X_CACHE,),
     description="Highest weight first.")
async def published(request: Request) -> HTTPResponse:
    query = parse_query(request, AudienceQuery)
    lookup = await request.app.ctx.topics.lookup_published(channel=query.channel, region_code=query.region)
    return json({"items": [topic_public(t) for t in lookup.topics]}, ensure_ascii=False,
                headers={"X-Cache": "hit" if lookup.from_cache else "miss"})


@bp.get("/topics/<code:topic_code>", ctx_public=True)
@doc("服务专题详情 One published topic", tag="public", ok=(200, PublicTopic),
     query=AudienceQuery, errors={404: ["topic_not_found"]}, secured=False,
     description="404 when that channel and region do not see the topic now.")
async def topic(request: Request, code: str) -> HTTPResponse:
    query = parse_query(request, AudienceQuery)
    found = await request.app.ctx.topics.get_published(code, channel=query.channel, region_code=query.region)
    return json(topic_public(found), ensure_ascii=False)
