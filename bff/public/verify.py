"""Verification for anyone (/public/v1), no login: sealed documents, presentations online, and
what an offline verifier downloads — the trust anchor, the trust list (with delta updates) and the
status lists. The lists are signed by the platform seal, whose key id a verifier pins."""
from __future__ import annotations

import base64
import binascii

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.common import license_presenters as present
from bff.common.docs import doc
from bff.common.license_schemas import (
    LicenseTypeList,
    SealVerifyIn,
    SealVerifyOut,
    SignedEnvelope,
    TrustAnchorOut,
    VerificationOut,
    VerifyPresentationIn,
)
from bff.common.limits import rate_limited
from bff.common.parsing import parse_body, parse_query
from bff.common.schemas import Query
from domain.shared.errors import InvalidInput

bp = Blueprint("public_verify", url_prefix="/public/v1")
BAD_BODY = ["invalid_input", "malformed_json"]


class TrustListQuery(Query):
    since: int | None = Field(None, ge=0, le=2**63 - 1, description="the version you hold: only later changes are listed")


@bp.get("/license-types", ctx_public=True)
@doc("证照目录 License types and their data schemas", tag="public", ok=(200, LicenseTypeList), secured=False)
async def license_types(request: Request) -> HTTPResponse:
    items = [{"code": t.code, "name": t.name, "holder_kind": t.holder_kind, "issuer_kind": t.issuer_kind,
              "validity": t.validity, "sensitive_fields": list(t.sensitive), "schema": t.schema}
             for t in request.app.ctx.licenses.types()]
    return json({"items": items}, ensure_ascii=False, headers={"Cache-Control": "public, max-age=3600"})


@bp.post("/seals/verify", ctx_public=True)
@doc("验证电子签章 Verify a sealed document", tag="public", body=SealVerifyIn, ok=(200, SealVerifyOut),
     secured=False, errors={400: [*BAD_BODY], 429: ["rate_limited"]},
     description="The document (base64) and its stamp. A revoked or expired seal fails for what it signed "
                 "after revocation; what it signed before still holds. The procedure is in docs/seals.md.")
@rate_limited("seal-verify", capacity=60, per_seconds=60)
async def verify_seal(request: Request) -> HTTPResponse:
    body = parse_body(request, SealVerifyIn)
    try:
        document = base64.b64decode(body.document, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("document 应为 base64", errors=[{"field": "document", "message": "应为base64"}]) from None
    verdict = await request.app.ctx.seals.verify_document(document=document, stamp=body.stamp)
    seal = verdict.seal
    return json({"valid": verdict.valid, "reason": verdict.reason, "seal_id": seal.code if seal else None,
                 "department": seal.department_code if seal else None, "algorithm": seal.algorithm if seal else None,
                 "signed_at": present.when(verdict.signed_at)}, ensure_ascii=False)


@bp.post("/presentations/verify", ctx_public=True)
@doc("核验亮证码 Verify a presentation online", tag="public", body=VerifyPresentationIn, ok=(200, VerificationOut),
     secured=False, errors={400: [*BAD_BODY, "presentation_malformed"], 429: ["rate_limited"]},
     description="Like an offline verifier (signature, the seal bound to the token's `iss` and `typ`, its "
                 "validity), plus the token being the one the hub made for its presentation id, the license's "
                 "status now and replay (a token is accepted online once). Logged in the holder's access log as "
                 "a verifier's read.")
@rate_limited("presentation-verify", capacity=60, per_seconds=60)
async def verify_presentation(request: Request) -> HTTPResponse:
    body = parse_body(request, VerifyPresentationIn)
    checked = await request.app.ctx.presentations.verify(body.token, actor_kind="verifier", actor="public")
    return json(present.verification(checked), ensure_ascii=False, headers={"Cache-Control": "no-store"})


@bp.get("/trust-anchor", ctx_public=True)
@doc("信任锚 The platform seal that signs trust and status lists", tag="public", ok=(200, TrustAnchorOut),
     secured=False, description="Pin its `fingerprint` through a channel you trust (`govhub seals anchor`); this "
                                "route only repeats it.")
async def trust_anchor(request: Request) -> HTTPResponse:
    seal = await request.app.ctx.seals.ensure_platform_seal()
    return json({"seal_id": seal.code, "key_id": seal.key_id, "algorithm": seal.algorithm,
                 "public_key_pem": seal.public_key_pem, "fingerprint": seal.fingerprint})


@bp.get("/trust-list", ctx_public=True)
@doc("信任列表 Issuers' seal keys (delta updates with ?since=)", tag="public", ok=(200, SignedEnvelope),
     secured=False, query=TrustListQuery,
     description="Every seal with its key, validity and status, and what it is bound to — its department "
                 "(`department_code`, a token's `iss`) and the license types it may sign (`license_types`) — "
                 "signed by the platform seal. `version` grows with every change; pass the version you hold as "
                 "`since` to get only what changed.")
async def trust_list(request: Request) -> HTTPResponse:
    query = parse_query(request, TrustListQuery)
    signed = await request.app.ctx.seals.trust_list(since=query.since)
    return json(signed, ensure_ascii=False, headers={"Cache-Control": "public, max-age=60"})


@bp.get("/status-lists/<epoch:status_list_epoch>", ctx_public=True)
@doc("状态列表 The status list of an hour's presentations", tag="public", ok=(200, SignedEnvelope),
     secured=False, errors={404: ["status_list_not_found"]},
     description="4 bits per random slot: 0 unchanged, else the GB/T 36901 status code. Fresh until "
                 "`next_update`; a verifier past it must answer \"status unknown\". The current and the "
                 "previous hour are served (a token lives 3 minutes).")
async def status_list(request: Request, epoch: int) -> HTTPResponse:
    signed = await request.app.ctx.presentations.status_list(epoch)
    return json(signed, headers={"Cache-Control": "public, max-age=30"})


