"""The citizen's data tracker on every channel: ``GET /{ch}/v1/me/data-uses`` (docs/sharing.md)."""
from __future__ import annotations

from sanic import Request
from sanic.response import HTTPResponse, json

from bff.common import sharing_presenters as present
from bff.common.channel_routes import ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import doc
from bff.common.parsing import parse_query
from bff.common.sharing_schemas import DataUseList, DataUseQuery
from domain.shared.clock import beijing_day_start
from domain.sharing.service import UseFilters

AUTH = {401: ["token_invalid"], 400: ["invalid_cursor"]}
routes = ChannelRoutes()


@routes.get("/me/data-uses")
@doc("我的数据使用记录 Who used my data", ok=(200, DataUseList), query=DataUseQuery, errors=AUTH,
     description="Every read of your data by a department through the hub, newest first: exchange calls that "
                 "named you, identity checks of your name and ID number, licenses asked for. When, which "
                 "department, which service and fields, the purpose and the case. A use for an investigation "
                 "shows once its embargo ends. Filters: `department` (a node code), `since`/`until` (days, "
                 "Beijing time); paging with `cursor`.")
async def data_uses(request: Request, channel: Channel) -> HTTPResponse:
    query = parse_query(request, DataUseQuery)
    filters = UseFilters(node=query.department,
                         since=beijing_day_start(query.since) if query.since else None,
                         until=beijing_day_start(query.until) if query.until else None)
    page = await request.app.ctx.sharing.data_uses(person_id=request.ctx.auth.subject, filters=filters,
                                                   cursor=query.cursor, limit=query.limit)
    return json({"items": [present.data_use(v) for v in page.items], "next_cursor": page.next_cursor},
                ensure_ascii=False, headers={"Cache-Control": "no-store"})
