"""``/gov/v1`` for licenses: departments issue and change licenses, ask for a citizen's license
(released only with consent), and verify presentations online. Every route is signed (bff/gov/auth)."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from bff.common import license_presenters as present
from bff.common.docs import doc
from bff.common.license_schemas import (
    ExchangeIn,
    IssueIn,
    LicenseOut,
    ReleaseOut,
    StatusIn,
    VerificationOut,
    VerifyPresentationIn,
)
from bff.common.parsing import parse_body
from bff.gov.auth import NODE_REFUSALS, SECURITY_SCHEME, authenticate_node

bp = Blueprint("gov_licenses", url_prefix="/gov/v1")
bp.on_request(authenticate_node)

BAD_BODY = ["invalid_input", "malformed_json"]


def signed(handler):
    return openapi.secured(SECURITY_SCHEME)(handler)


@bp.post("/licenses")
@doc("签发电子证照 Issue a license", tag="gov", body=IssueIn, ok=(201, LicenseOut), secured=False,
     errors={400: [*BAD_BODY, "license_invalid", "license_type_unknown"], 401: NODE_REFUSALS,
             403: ["license_issuer_not_allowed", "seal_unusable"], 409: ["license_exists"]},
     description="The data is validated against the type's JSON Schema, sealed with the node's seal for the "
                 "type's department kind, and appears in the holder's wallet.")
@signed
async def issue(request: Request) -> HTTPResponse:
    body = parse_body(request, IssueIn)
    issued = await request.app.ctx.licenses.issue(node=request.ctx.node.code, type_code=body.type,
                                                  number=body.number, data=body.data)
    return json(present.license_summary(issued), status=201, ensure_ascii=False)


@bp.get("/licenses/<license_id:license_id>")
@doc("查询已签发证照 A license this node issued", tag="gov", ok=(200, LicenseOut), secured=False,
     errors={401: NODE_REFUSALS, 404: ["license_not_found"]})
@signed
async def issued(request: Request, license_id: str) -> HTTPResponse:
    found = await request.app.ctx.licenses.issued(node=request.ctx.node.code, license_id=license_id)
    return json(present.license_summary(found), ensure_ascii=False)


@bp.post("/licenses/<license_id:license_id>/status")
@doc("变更证照状态 Change a license's status", tag="gov", body=StatusIn, ok=(200, LicenseOut), secured=False,
     errors={400: [*BAD_BODY, "license_invalid"], 401: NODE_REFUSALS, 404: ["license_not_found"],
             409: ["license_status_change_refused"]},
     description="Only the issuing node. valid ⇄ suspended; revoked, withdrawn and cancelled are final "
                 "(GB/T 36901-36905). Kept in the license's history; live status lists follow at once.")
@signed
async def change_status(request: Request, license_id: str) -> HTTPResponse:
    body = parse_body(request, StatusIn)
    changed = await request.app.ctx.licenses.change_status(node=request.ctx.node.code, license_id=license_id,
                                                           status=body.status, reason=body.reason)
    return json(present.license_summary(changed), ensure_ascii=False)


@bp.post("/license-exchanges")
@doc("证照共享 Ask for a citizen's license (with consent)", tag="gov", body=ExchangeIn, ok=(200, ReleaseOut),
     secured=False,
     errors={400: [*BAD_BODY, "license_invalid", "license_type_unknown"], 401: NODE_REFUSALS,
             403: ["consent_required"], 404: ["license_not_found"]},
     description="Released when the holder consented (once or standing) or submitted to this node an "
                 "application naming the license. Otherwise 403 `consent_required` with `consent_request`: "
                 "the request now waits in the citizen's wallet. Sensitive fields come only on a consent granted "
                 "with a fresh face scan; on an application (or an older consent) they are `withheld`. Check the "
                 "stamp over `document`, then each disclosure against its `sd`. Every attempt is in the "
                 "citizen's access log.")
@signed
async def exchange(request: Request) -> HTTPResponse:
    body = parse_body(request, ExchangeIn)
    released = await request.app.ctx.license_exchange.request(node=request.ctx.node.code, type_code=body.type,
                                                              holder=body.holder, purpose=body.purpose)
    return json(present.release(released), ensure_ascii=False, headers={"Cache-Control": "no-store"})


@bp.post("/presentations/verify")
@doc("在线核验亮证码 Verify a presentation online", tag="gov", body=VerifyPresentationIn,
     ok=(200, VerificationOut), secured=False,
     errors={400: [*BAD_BODY, "presentation_malformed"], 401: NODE_REFUSALS},
     description="Signature, the seal's binding to the token's issuer and license type (trust list), the "
                 "token being the one made for its presentation id, expiry (3 minutes), shown fields, replay "
                 "(accepted online once) and the license's status now. Logged in the holder's access log under "
                 "this node.")
@signed
async def verify(request: Request) -> HTTPResponse:
    body = parse_body(request, VerifyPresentationIn)
    checked = await request.app.ctx.presentations.verify(body.token, actor_kind="department",
                                                         actor=request.ctx.node.code)
    return json(present.verification(checked), ensure_ascii=False)
