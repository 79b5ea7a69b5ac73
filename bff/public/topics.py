"""Published service topics for anyone (``/public/v1/topics``): no login, as on the home pages.

``X-Cache: hit`` says this instance answered from its in-memory list, ``miss`` that it read the
database; operators and the two-instance test use it to see the cache at work.
"""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.common.docs import doc
from bff.common.topics import PublicTopic, PublicTopicList, topic_public

bp = Blueprint("public_topics", url_prefix="/public/v1")
QUERY = ("Query: `channel` (wechat, alipay, app, pc; required) and `region` (a 12-digit region code; "
         "without it only nationwide topics).")


@bp.get("/topics", ctx_public=True)
@doc("服务专题 Published topics for a channel and region", tag="public", ok=(200, PublicTopicList),
     errors={400: ["invalid_input"]}, secured=False,
     description=QUERY + " Highest weight first. Header `X-Cache: hit|miss`.")
async def published(request: Request) -> HTTPResponse:
    lookup = await request.app.ctx.topics.lookup_published(channel=request.args.get("channel", ""),
                                                           region_code=request.args.get("region"))
    return json({"items": [topic_public(t) for t in lookup.topics]}, ensure_ascii=False,
                headers={"X-Cache": "hit" if lookup.from_cache else "miss"})


@bp.get("/topics/<code:topic_code>", ctx_public=True)
@doc("服务专题详情 One published topic", tag="public", ok=(200, PublicTopic),
     errors={400: ["invalid_input"], 404: ["topic_not_found"]}, secured=False,
     description=QUERY + " 404 when that channel and region do not see the topic now.")
async def topic(request: Request, code: str) -> HTTPResponse:
    found = await request.app.ctx.topics.get_published(code, channel=request.args.get("channel", ""),
                                                       region_code=request.args.get("region"))
    return json(topic_public(found), ensure_ascii=False)
