"""``/gov/v1/sharing``: nodes publish data services, ask for grants and decide on them; and
``/gov/v1/identity/verifications``, the hub's own data service. Every route is signed (bff/gov/auth);
who may do what to a grant is the domain's rule (domain/sharing/grants.py), never decided here."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from bff.common import sharing_presenters as present
from bff.common.docs import doc
from bff.common.parsing import parse_body, parse_query
from bff.common.sharing_schemas import (
    ApproveIn,
    GrantIn,
    GrantList,
    GrantOut,
    GrantQuery,
    IdentityCheckIn,
    IdentityCheckOut,
    ReasonIn,
    RetireIn,
    ServiceDetailOut,
    ServiceIn,
    ServiceList,
    ServiceOut,
)
from bff.gov.auth import NODE_REFUSALS, SECURITY_SCHEME, authenticate_node
from domain.sharing import rules
from domain.sharing.service import GrantRequest, Party, VerificationAsked

bp = Blueprint("gov_sharing", url_prefix="/gov/v1")
bp.on_request(authenticate_node)

BAD_BODY = ["invalid_input", "malformed_json"]
GRANT_ERRORS = {401: NODE_REFUSALS, 403: ["data_grant_party_only"], 404: ["data_grant_not_found"],
                409: ["data_grant_step_not_allowed"]}
NO_STORE = {"Cache-Control": "no-store"}


def signed(handler):
    return openapi.secured(SECURITY_SCHEME)(handler)


def _party(request: Request) -> Party:
    return Party(node=request.ctx.node.code)


@bp.post("/sharing/services")
@doc("发布数据服务 Publish a data service (a new version)", tag="gov", body=ServiceIn, ok=(201, ServiceDetailOut),
     secured=False, errors={400: [*BAD_BODY, "data_service_invalid"], 401: NODE_REFUSALS},
     description="The signing node is the provider. Publishing a code again makes the next version; the "
                 "version before it stops serving at once. Audited.")
@signed
async def publish(request: Request) -> HTTPResponse:
    body = parse_body(request, ServiceIn)
    view = await request.app.ctx.sharing.catalog.publish(provider=request.ctx.node.code,
                                                         description=body.description_dict())
    return json(present.service(view, with_openapi=True), status=201, ensure_ascii=False)


@bp.get("/sharing/services")
@doc("数据服务目录 The catalog of data services", tag="gov", ok=(200, ServiceList), secured=False,
     errors={401: NODE_REFUSALS}, description="Every service that serves (active or retiring), the hub's own included.")
@signed
async def services(request: Request) -> HTTPResponse:
    items = await request.app.ctx.sharing.catalog.list()
    return json({"items": [present.service(v) for v in items]}, ensure_ascii=False)


@bp.get("/sharing/services/<provider:node_code>/<code:data_service_code>")
@doc("数据服务详情 A data service with its OpenAPI description", tag="gov", ok=(200, ServiceDetailOut),
     secured=False, errors={401: NODE_REFUSALS, 404: ["data_service_not_found"]})
@signed
async def service(request: Request, provider: str, code: str) -> HTTPResponse:
    view = await request.app.ctx.sharing.catalog.current(provider, code)
    return json(present.service(view, with_openapi=True), ensure_ascii=False)


@bp.post("/sharing/services/<code:data_service_code>/retire")
@doc("下线数据服务 Retire one of this node's services", tag="gov", body=RetireIn, ok=(200, ServiceOut),
     secured=False, errors={400: [*BAD_BODY, "data_service_invalid"], 401: NODE_REFUSALS,
                            404: ["data_service_not_found"]},
     description="It serves `notice_days` more (status `retiring`, `retire_at`), then no call crosses. Audited.")
@signed
async def retire(request: Request, code: str) -> HTTPResponse:
    body = parse_body(request, RetireIn)
    view = await request.app.ctx.sharing.catalog.retire(provider=request.ctx.node.code, code=code,
                                                        notice_days=body.notice_days)
    return json(present.service(view), ensure_ascii=False)


@bp.post("/sharing/grants")
@doc("申请数据共享 Ask for access to a data service", tag="gov", body=GrantIn, ok=(201, GrantOut), secured=False,
     errors={400: [*BAD_BODY, "data_grant_invalid"], 401: NODE_REFUSALS, 404: ["data_service_not_found"]},
     description="The signing node is the consumer: the fields it needs, the purpose, the legal basis, the "
                 "expected volume. The provider decides; a request nobody decides on lapses after 14 days.")
@signed
async def request_grant(request: Request) -> HTTPResponse:
    body = parse_body(request, GrantIn)
    asked = GrantRequest(
        provider=body.provider, service_code=body.service_code, fields=tuple(body.fields), purpose=body.purpose,
        legal_basis=body.legal_basis, expected_daily_calls=body.expected_daily_calls,
        operations=None if body.operations is None else tuple(rules.Operation(o.method, o.path)
                                                               for o in body.operations),
        investigative=body.investigative, embargo_days=body.embargo_days)
    view = await request.app.ctx.sharing.grants.request(consumer=request.ctx.node.code, asked=asked)
    return json(present.grant(view), status=201, ensure_ascii=False)


@bp.get("/sharing/grants")
@doc("共享授权列表 This node's requests and grants", tag="gov", ok=(200, GrantList), query=GrantQuery,
     secured=False, errors={401: NODE_REFUSALS})
@signed
async def grants(request: Request) -> HTTPResponse:
    query = parse_query(request, GrantQuery)
    items = await request.app.ctx.sharing.grants.list(node=request.ctx.node.code, role=query.role,
                                                      status=query.status, limit=query.limit)
    return json({"items": [present.grant(v) for v in items]}, ensure_ascii=False)


@bp.get("/sharing/grants/<grant_id:grant_id>")
@doc("共享授权详情 A request or grant", tag="gov", ok=(200, GrantOut), secured=False,
     errors={401: NODE_REFUSALS, 403: ["data_grant_party_only"], 404: ["data_grant_not_found"]})
@signed
async def grant(request: Request, grant_id: str) -> HTTPResponse:
    view = await request.app.ctx.sharing.grants.get(party=_party(request), grant_id=grant_id)
    return json(present.grant(view), ensure_ascii=False)


@bp.post("/sharing/grants/<grant_id:grant_id>/approve")
@doc("批准共享申请 Approve (the provider)", tag="gov", body=ApproveIn, ok=(200, GrantOut), secured=False,
     errors={400: [*BAD_BODY, "data_grant_invalid"], **GRANT_ERRORS},
     description="Possibly fewer fields than asked; a quota per minute and a validity. Calls cross at once.")
@signed
async def approve(request: Request, grant_id: str) -> HTTPResponse:
    approval = parse_body(request, ApproveIn).approval()
    view = await request.app.ctx.sharing.grants.approve(party=_party(request), grant_id=grant_id, approval=approval)
    return json(present.grant(view), ensure_ascii=False)


def _reasoned(step: str, summary: str, description: str):
    @bp.post(f"/sharing/grants/<grant_id:grant_id>/{step}", name=f"grant_{step}")
    @doc(summary, tag="gov", body=ReasonIn, ok=(200, GrantOut), secured=False,
         errors={400: [*BAD_BODY, "data_grant_invalid"], **GRANT_ERRORS}, description=description)
    @signed
    async def handler(request: Request, grant_id: str) -> HTTPResponse:
        body = parse_body(request, ReasonIn)
        act = getattr(request.app.ctx.sharing.grants, step)
        view = await act(party=_party(request), grant_id=grant_id, reason=body.reason)
        return json(present.grant(view), ensure_ascii=False)
    return handler


refuse = _reasoned("refuse", "拒绝共享申请 Refuse (the provider)", "With the reason the consumer reads.")
suspend = _reasoned("suspend", "暂停授权 Suspend (the provider)", "No call crosses from the next one on.")
revoke = _reasoned("revoke", "撤销授权 Revoke (the provider or the consumer)",
                   "Final: no call crosses from the next one on.")


@bp.post("/sharing/grants/<grant_id:grant_id>/resume")
@doc("恢复授权 Resume a suspended grant (the provider)", tag="gov", ok=(200, GrantOut), secured=False,
     errors=GRANT_ERRORS)
@signed
async def resume(request: Request, grant_id: str) -> HTTPResponse:
    view = await request.app.ctx.sharing.grants.resume(party=_party(request), grant_id=grant_id)
    return json(present.grant(view), ensure_ascii=False)


@bp.post("/sharing/grants/<grant_id:grant_id>/withdraw")
@doc("撤回共享申请 Withdraw a request (the consumer)", tag="gov", ok=(200, GrantOut), secured=False,
     errors=GRANT_ERRORS)
@signed
async def withdraw(request: Request, grant_id: str) -> HTTPResponse:
    view = await request.app.ctx.sharing.grants.withdraw(party=_party(request), grant_id=grant_id)
    return json(present.grant(view), ensure_ascii=False)


@bp.post("/identity/verifications")
@doc("身份核验 Check a name and ID number", tag="gov", body=IdentityCheckIn, ok=(200, IdentityCheckOut),
     secured=False,
     errors={400: [*BAD_BODY, "invalid_id_number"], 401: NODE_REFUSALS, 403: ["data_grant_required"],
             429: ["data_grant_quota_exceeded"], 503: ["message_log_unavailable"]},
     description="Needs a grant for the hub's service `identity-verification` (ask with POST "
                 "/gov/v1/sharing/grants, provider `govhub`; the hub's operators decide). Answers match, "
                 "no_match or unknown (the hub has no real-name record of that number), never the person's "
                 "data. With `face_session`, match needs a face scan of that citizen passed in the last 10 "
                 "minutes. Optional headers X-Road-UserId (the official) and X-Road-Issue (the case) go to the "
                 "message log; the check shows in the citizen's data tracker.")
@signed
async def verify_identity(request: Request) -> HTTPResponse:
    body = parse_body(request, IdentityCheckIn)
    answer = await request.app.ctx.sharing.verify_identity(VerificationAsked(
        node=request.ctx.node.code, name=body.name, id_number=body.id_number, face_session=body.face_session,
        issue=rules.header_text(request.headers.get("X-Road-Issue"), 200),
        user_id=rules.header_text(request.headers.get("X-Road-UserId"), 128),
        body=request.body or b"", received_at=request.app.ctx.clock.now()))
    return json({"result": answer.result, "face_checked": answer.face_checked, "request_id": answer.request_id},
                headers=NO_STORE)
