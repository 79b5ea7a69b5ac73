"""Applications (办件) on every citizen channel: submit, list, detail, withdraw, resubmit after
correction, upload a material. The same use cases everywhere; each channel gives its presenters.

Uploads come first (``wx.uploadFile`` / ``my.uploadFile`` send one multipart file per call, field
``file``); submit and resubmit then name them by id, or name an e-license of the citizen's wallet.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from sanic import Request
from sanic.exceptions import PayloadTooLarge
from sanic.headers import parse_content_header
from sanic.request.form import parse_multipart_form
from sanic.response import HTTPResponse, json

from bff.common.channel_routes import ByChannel, ChannelRoutes
from bff.common.channels import Channel
from bff.common.docs import IDEMPOTENCY_KEY, LOCATION, REPLAYED, doc
from bff.common.limits import rate_limited
from bff.common.parsing import idempotency_key, parse_body, parse_query
from bff.common.schemas import Body, Query, QueryDay, items_of
from domain.applications import rules
from domain.applications.views import ListFilters
from domain.shared.errors import InvalidInput

NUMBER = r"^\d{6}-\d{8}-\d{6}$"
AUTH = {401: ["token_invalid"]}
CHANGE_CONFLICTS = ["application_transition_not_allowed", "application_changed", "idempotency_key_reused"]
FORM_ERRORS = ["invalid_input", "malformed_json", "application_form_invalid", "application_materials_invalid"]


class MaterialIn(Body):
    name: str = Field(min_length=1, max_length=200, description="the matter's material name it satisfies")
    upload_id: str | None = Field(None, pattern=r"^m_[0-9a-f]{24}$", description="an uploaded file's id")
    license_id: str | None = Field(None, min_length=1, max_length=128,
                                   description="an e-license in the wallet")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.upload_id is None) == (self.license_id is None):
            raise ValueError("give either upload_id or license_id")
        return self


class SubmitIn(Body):
    matter_code: str = Field(min_length=1, max_length=64)
    form: dict = Field(description="answers to the matter's form_schema (JSON Schema)")
    materials: list[MaterialIn] = Field(default_factory=list, max_length=60)


class ResubmitIn(Body):
    form: dict = Field(description="the whole corrected form")
    materials: list[MaterialIn] = Field(default_factory=list, max_length=60)


class WithdrawIn(Body):
    reason: str | None = Field(None, max_length=500)


class ApplicationQuery(Query):
    status: Literal[rules.STATUSES + ("open", "closed")] | None = None  # type: ignore[valid-type]
    matter: str | None = Field(None, max_length=64)
    submitted_from: QueryDay | None = Field(None, description="Beijing date, inclusive")
    submitted_until: QueryDay | None = Field(None, description="Beijing date, inclusive")
    cursor: str | None = Field(None, max_length=64)
    limit: int = Field(20, ge=1, le=50)


UPLOAD_BODY = {"multipart/form-data": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "PDF, JPEG or PNG (judged by content)"}}}}
DETAIL = ByChannel(lambda channel: channel.shapes.application_detail.shape)
PAGE = ByChannel(lambda channel: items_of(channel.shapes.application.shape, "next_cursor"))
MATERIAL = ByChannel(lambda channel: channel.shapes.material.shape)

routes = ChannelRoutes()


@routes.post("/applications")
@doc("提交申请 Submit an application", body=SubmitIn, ok=(201, DETAIL),
     headers=(IDEMPOTENCY_KEY.needed(),), ok_headers=(LOCATION, REPLAYED),
     errors={400: FORM_ERRORS + ["idempotency_key_required"], **AUTH,
             403: ["assurance_required"], 404: ["matter_not_found"],
             409: ["idempotency_key_reused", "matter_not_online", "matter_entry_not_allowed"],
             429: ["rate_limited"],
             503: ["no_handling_node"]},
     description="Needs real name (L2) and an `Idempotency-Key` header: a new value per new "
                 "application, the same on every retry. The same key and body answer the first "
                 "result again (header `Idempotent-Replayed: true`); the same key with another body "
                 "is 409. The answer names the node that handles the application. A matter another "
                 "capability submits (a housing-fund withdrawal, a bundle's step) is 409 "
                 "`matter_entry_not_allowed`, whose `route` names where to go.")
@rate_limited("submit", capacity=60, per_seconds=60, by="person")
async def submit(request: Request, channel: Channel) -> HTTPResponse:
    key = idempotency_key(request)
    body = parse_body(request, SubmitIn)
    result = await request.app.ctx.applications.submit(
        person_id=request.ctx.auth.subject, channel=channel.name, matter_code=body.matter_code, form=body.form,
        materials=_materials(body.materials), idempotency_key=key, entry=rules.PLAIN)
    headers = {"Location": f"{request.path}/{result.application.number}"}
    if result.replayed:
        headers["Idempotent-Replayed"] = "true"
    return json(channel.shapes.application_detail(result.application), status=201, headers=headers,
                ensure_ascii=False)


@routes.get("/applications")
@doc("我的办件 My applications", ok=(200, PAGE), query=ApplicationQuery,
     errors={400: ["invalid_cursor"], **AUTH},
     description="Newest first. Filters: `status` (a status, or `open` / `closed`), `matter`, "
                 "submission dates; `next_cursor` pages.")
async def list_own(request: Request, channel: Channel) -> HTTPResponse:
    query = parse_query(request, ApplicationQuery)
    page = await request.app.ctx.applications.list_own(
        person_id=request.ctx.auth.subject, cursor=query.cursor, limit=query.limit,
        filters=ListFilters(status=query.status, matter_code=query.matter,
                            submitted_from=query.submitted_from, submitted_until=query.submitted_until))
    return json({"items": [channel.shapes.application(a) for a in page.items], "next_cursor": page.next_cursor},
                ensure_ascii=False)


@routes.get("/applications/<number:application_number>")
@doc("办件详情 Application detail with its timeline", ok=(200, DETAIL),
     errors={**AUTH, 404: ["application_not_found"]},
     description="Another person's number answers 404, exactly like a number that does not exist.")
async def show(request: Request, channel: Channel, number: str) -> HTTPResponse:
    found = await request.app.ctx.applications.detail(person_id=request.ctx.auth.subject, number=number)
    return json(channel.shapes.application_detail(found), ensure_ascii=False)


@routes.post("/applications/<number:application_number>/withdrawal")
@doc("撤回申请 Withdraw an application", body=WithdrawIn, ok=(200, DETAIL),
     headers=(IDEMPOTENCY_KEY,),
     errors={400: ["invalid_input", "malformed_json"], **AUTH, 404: ["application_not_found"],
             409: CHANGE_CONFLICTS},
     description="Allowed until a decision is made. The handling node is told (outbox). "
                 "An optional `Idempotency-Key` makes a retry answer the first result.")
async def withdraw(request: Request, channel: Channel, number: str) -> HTTPResponse:
    body = parse_body(request, WithdrawIn)
    found = await request.app.ctx.applications.withdraw(
        person_id=request.ctx.auth.subject, number=number, reason=body.reason,
        idempotency_key=idempotency_key(request))
    return json(channel.shapes.application_detail(found), ensure_ascii=False)


@routes.post("/applications/<number:application_number>/resubmission")
@doc("补正后重新提交 Resubmit after a correction request", body=ResubmitIn, ok=(200, DETAIL),
     headers=(IDEMPOTENCY_KEY,),
     errors={400: FORM_ERRORS, **AUTH, 404: ["application_not_found", "matter_not_found"],
             409: CHANGE_CONFLICTS + ["matter_entry_not_allowed"]},
     description="Only while a correction is requested (补正). The whole corrected form and the "
                 "materials, checked like a submission; back to intake, or to review if the "
                 "application had been accepted (the days left on the deadline are kept). Only "
                 "applications submitted here: a withdrawal's or a bundle step's is 409 "
                 "`matter_entry_not_allowed`.")
async def resubmit(request: Request, channel: Channel, number: str) -> HTTPResponse:
    body = parse_body(request, ResubmitIn)
    found = await request.app.ctx.applications.resubmit(
        person_id=request.ctx.auth.subject, number=number, form=body.form,
        materials=_materials(body.materials), idempotency_key=idempotency_key(request), entry=rules.PLAIN)
    return json(channel.shapes.application_detail(found), ensure_ascii=False)


@routes.post("/applications/materials", stream=True, ctx_own_body_limit=True)
@doc("上传申请材料 Upload a material (multipart, field `file`)", ok=(201, MATERIAL),
     errors={400: ["invalid_input", "material_type_not_allowed", "material_too_large"], **AUTH,
             413: ["payload_too_large"], 429: ["rate_limited"]},
     description="One file per call: PDF, JPEG or PNG, judged by its bytes, not its name. Then "
                 "name its `id` as `upload_id` in a submission. A file serves one application.",
     body=UPLOAD_BODY)
@rate_limited("upload", capacity=120, per_seconds=3600, by="person")
async def upload(request: Request, channel: Channel) -> HTTPResponse:
    applications = request.app.ctx.applications
    body = await _read_stream(request, applications.materials.upload_max_bytes + MULTIPART_SLACK)
    file = _multipart_file(request, body)
    view = await applications.upload_material(person_id=request.ctx.auth.subject, data=file.body,
                                              filename=file.name)
    return json(channel.shapes.material(view), status=201, ensure_ascii=False)

# The one route whose body may exceed GOVHUB_MAX_BODY_BYTES: it streams (Sanic lifts its own limit
# for streaming handlers) and stops reading at the upload limit plus room for the multipart framing.
MULTIPART_SLACK = 64 * 1024


async def _read_stream(request: Request, limit: int) -> bytes:
    chunks, size = [], 0
    while (chunk := await request.stream.read()) is not None:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge("上传的文件过大")
        chunks.append(chunk)
    return b"".join(chunks)


def _multipart_file(request: Request, body: bytes):
    content_type, parameters = parse_content_header(request.headers.get("content-type", ""))
    files = None
    if content_type == "multipart/form-data" and parameters.get("boundary"):
        try:
            _, files = parse_multipart_form(body, parameters["boundary"].encode("utf-8"))
        except (ValueError, LookupError):  # Sanic's parser raises on a part it cannot read (UnicodeError too)
            raise InvalidInput("上传内容的 multipart 格式有误", errors=[{"field": "file", "message": "格式有误"}]) from None
    file = files.get("file") if files else None
    if file is None:
        raise InvalidInput("请以 multipart/form-data 上传，文件字段名为 file",
                           errors=[{"field": "file", "message": "必填项"}])
    return file


def _materials(items: list[MaterialIn]) -> list[dict]:
    return [item.model_dump(exclude_none=True) for item in items]
