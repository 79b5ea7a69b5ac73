"""Service topics for product teams (``/admin/v1/topics``).

Topic editors do everything; operators may read, preview and switch topics on and off (an
incident at night should not wait for the product team). Writes name the version they are based
on (``If-Match`` or ``version``); every answer carries the topic's ``ETag``.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, empty, json

from bff.admin import presenters
from bff.admin.auth import admin_doc, current_admin, install_admin_guard, require_role
from bff.common.docs import ETAG, IF_MATCH
from bff.admin.schemas import PreviewOut, ReorderIn, TopicIn, TopicList, TopicOut, TopicPatch, TransitionIn
from bff.common.parsing import parse_body, parse_query
from bff.common.schemas import Query
from domain.topics import rules

bp = Blueprint("admin_topics")
install_admin_guard(bp)

EDITORS = ("topic_editor",)
SWITCHERS = ("topic_editor", "operator")
INVALID = ["invalid_input", "malformed_json", "topic_invalid"]
NOT_FOUND = {404: ["topic_not_found"]}
CONFLICT = ["topic_version_conflict", "topic_transition_refused"]
REGION = Field(None, pattern=r"^\d{12}$", description="12-digit region code: topics shown there")


class TopicListQuery(Query):
    status: Literal[rules.STATUSES] | None = None  # type: ignore[valid-type]
    channel: Literal[rules.CHANNELS] | None = None  # type: ignore[valid-type]
    region: str | None = REGION
    q: str | None = Field(None, max_length=60, description="words of the title")


class PreviewQuery(Query):
    channel: Literal[rules.CHANNELS]  # type: ignore[valid-type]
    region: str | None = REGION
    at: str | None = Field(None, max_length=40, description="ISO 8601 (default now); without an offset, Beijing time")


@bp.post("/topics")
@admin_doc("新建专题 Create a topic (a draft)", roles=EDITORS, body=TopicIn, ok=(201, TopicOut), ok_headers=(ETAG,),
           errors={400: INVALID, 409: ["topic_exists"]})
@require_role(*EDITORS)
async def create(request: Request) -> HTTPResponse:
    body = parse_body(request, TopicIn)
    values = _values(body, body.model_fields_set | {"entries", "channels", "regions", "weight"})
    topic = await request.app.ctx.topics.create(actor=current_admin(request), request_id=str(request.id),
                                                **values)
    return _topic(topic, status=201)


@bp.get("/topics")
@admin_doc("专题列表 List topics", roles=SWITCHERS, ok=(200, TopicList), query=TopicListQuery,
           description="Display order: weight, highest first.")
@require_role(*SWITCHERS)
async def list_topics(request: Request) -> HTTPResponse:
    query = parse_query(request, TopicListQuery)
    topics = await request.app.ctx.topics.list(status=query.status, channel=query.channel,
                                               region_code=query.region, q=query.q)
    return json({"items": [presenters.topic_admin(t) for t in topics]}, ensure_ascii=False)


@bp.get("/topics/<code:topic_code>")
@admin_doc("专题详情 Read a topic", roles=SWITCHERS, ok_headers=(ETAG,), ok=(200, TopicOut), errors=NOT_FOUND)
@require_role(*SWITCHERS)
async def detail(request: Request, code: str) -> HTTPResponse:
    return _topic(await request.app.ctx.topics.get(code))


@bp.patch("/topics/<code:topic_code>")
@admin_doc("修改专题 Change a topic", roles=EDITORS, body=TopicPatch, ok=(200, TopicOut),
           headers=(IF_MATCH,), ok_headers=(ETAG,),
           errors={400: [*INVALID, "topic_version_required", "topic_not_publishable"], **NOT_FOUND,
                   409: ["topic_version_conflict"]},
           description="Only the fields sent change (null clears an optional one). A published topic "
                       "must stay complete; its change shows on every instance within a second.")
@require_role(*EDITORS)
async def update(request: Request, code: str) -> HTTPResponse:
    body = parse_body(request, TopicPatch)
    version = presenters.version_of(request, body.version)
    changes = _values(body, body.model_fields_set - {"version"})
    topic = await request.app.ctx.topics.update(actor=current_admin(request), code=code, version=version,
                                                request_id=str(request.id), **changes)
    return _topic(topic)


@bp.put("/topics/<code:topic_code>/entry-order")
@admin_doc("调整入口顺序 Reorder a topic's entries", roles=EDITORS, body=ReorderIn, ok=(200, TopicOut),
           headers=(IF_MATCH,), ok_headers=(ETAG,),
           errors={400: [*INVALID, "topic_version_required"], **NOT_FOUND, 409: ["topic_version_conflict"]})
@require_role(*EDITORS)
async def reorder(request: Request, code: str) -> HTTPResponse:
    body = parse_body(request, ReorderIn)
    topic = await request.app.ctx.topics.reorder(actor=current_admin(request), code=code, order=body.order,
                                                 version=presenters.version_of(request, body.version),
                                                 request_id=str(request.id))
    return _topic(topic)


@bp.post("/topics/<code:topic_code>/publish")
@admin_doc("发布专题 Publish (switch on)", roles=SWITCHERS, body=TransitionIn, ok=(200, TopicOut),
           headers=(IF_MATCH,), ok_headers=(ETAG,),
           errors={400: ["invalid_input", "topic_not_publishable"], **NOT_FOUND, 409: CONFLICT},
           description="From draft or offline. The body may be empty; a version (or If-Match) makes "
                       "it conditional.")
@require_role(*SWITCHERS)
async def publish(request: Request, code: str) -> HTTPResponse:
    topic = await request.app.ctx.topics.publish(actor=current_admin(request), code=code,
                                                 version=_transition_version(request),
                                                 request_id=str(request.id))
    return _topic(topic)


@bp.post("/topics/<code:topic_code>/offline")
@admin_doc("下线专题 Take offline (switch off)", roles=SWITCHERS, body=TransitionIn, ok=(200, TopicOut),
           headers=(IF_MATCH,), ok_headers=(ETAG,),
           errors={400: ["invalid_input"], **NOT_FOUND, 409: CONFLICT},
           description="From published. The body may be empty; a version (or If-Match) makes it conditional.")
@require_role(*SWITCHERS)
async def take_offline(request: Request, code: str) -> HTTPResponse:
    topic = await request.app.ctx.topics.take_offline(actor=current_admin(request), code=code,
                                                      version=_transition_version(request),
                                                      request_id=str(request.id))
    return _topic(topic)


@bp.delete("/topics/<code:topic_code>")
@admin_doc("删除草稿 Delete a draft", roles=EDITORS, headers=(IF_MATCH,), ok=(204, None),
           errors={400: ["invalid_input"], **NOT_FOUND, 409: CONFLICT},
           description="Only drafts: a topic that was ever published is taken offline instead.")
@require_role(*EDITORS)
async def delete(request: Request, code: str) -> HTTPResponse:
    await request.app.ctx.topics.delete(actor=current_admin(request), code=code,
                                        version=presenters.version_of(request, None),
                                        request_id=str(request.id))
    return empty()


@bp.get("/topics/<code:topic_code>/preview")
@admin_doc("预览专题 Preview as a channel and region", roles=SWITCHERS, ok=(200, PreviewOut),
           query=PreviewQuery, errors=NOT_FOUND, ok_headers=(ETAG,),
           description="Works in any status, and says whether that audience would see the topic at that "
                       "time and, if not, why.")
@require_role(*SWITCHERS)
async def preview(request: Request, code: str) -> HTTPResponse:
    query = parse_query(request, PreviewQuery)
    result = await request.app.ctx.topics.preview(code, channel=query.channel, region_code=query.region,
                                                  at=presenters.parse_time(query.at, "at"))
    return json(presenters.preview(result), ensure_ascii=False, headers=presenters.etag(result.topic))


def _values(body, names: set[str]) -> dict:
    """The fields of ``body`` named, as the service takes them (entries as dicts, times parsed)."""
    values = {}
    for name in names:
        value = getattr(body, name)
        if name == "entries" and value is not None:
            value = [entry.model_dump() for entry in value]
        elif name in ("starts_at", "ends_at"):
            value = presenters.parse_time(value, name)
        elif name in ("channels", "regions") and value is not None:
            value = list(value)
        values[name] = value
    return values


def _transition_version(request: Request) -> int | None:
    body = parse_body(request, TransitionIn) if (request.body or b"").strip() else TransitionIn()
    return presenters.version_of(request, body.version)


def _topic(topic, status: int = 200) -> HTTPResponse:
    return json(presenters.topic_admin(topic), status=status, ensure_ascii=False,
                headers=presenters.etag(topic))
