"""``/gov/v1/health``: regions (their provincial platforms' nodes) register signing keys, push
health records, publish rules and revoke codes; any node's checkpoint checks a code online. Who
may act for a region is the domain's rule (domain/health/service.issuer_of), never decided here."""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json
from sanic_ext import openapi

from bff.common import health_presenters as present
from bff.common.docs import doc
from bff.common.health_schemas import (
    HealthCheckIn,
    HealthCheckOut,
    KeyIn,
    KeyList,
    KeyOut,
    RecordQueryOut,
    RecordsIn,
    RecordsPushedOut,
    RecordsQueryIn,
    RevokedOut,
    RevokeIn,
    RuleIn,
    RuleList,
    RuleOut,
)
from bff.common.parsing import parse_body
from bff.gov.auth import NODE_REFUSALS, SECURITY_SCHEME, authenticate_node
from domain.health.service import PushedRecord, RecordsAsked, RuleDraft
from domain.shared.errors import InvalidInput
from domain.sharing import rules as sharing_rules

bp = Blueprint("gov_health", url_prefix="/gov/v1/health")
bp.on_request(authenticate_node)

BAD_BODY = ["invalid_input", "malformed_json"]
ISSUER = {401: NODE_REFUSALS, 403: ["health_issuer_only"]}
NO_STORE = {"Cache-Control": "no-store"}


def signed(handler):
    return openapi.secured(SECURITY_SCHEME)(handler)


@bp.post("/keys")
@doc("登记签发密钥 Register a signing key (or delegate one)", tag="gov", body=KeyIn, ok=(201, KeyOut),
     secured=False, errors={400: [*BAD_BODY, "health_key_invalid"], **ISSUER, 409: ["health_key_exists"]},
     description="A provincial platform, for its region. Either `certificate_pem` (the region keeps the key "
                 "and signs each code itself at its endpoint's `/health/sign`) or `delegate: true` (the hub "
                 "makes an ES256/PS256 key and signs for the region). The newest usable key signs new codes; "
                 "older ones stay in the trust list until their end.")
@signed
async def register_key(request: Request) -> HTTPResponse:
    body = parse_body(request, KeyIn)
    health = request.app.ctx.health
    if body.delegate == (body.certificate_pem is not None):
        raise InvalidInput("给出 certificate_pem，或 delegate: true，二者选一",
                           errors=[{"field": "certificate_pem", "message": "与 delegate 二选一"}])
    if body.delegate:
        view = await health.delegate_key(request.ctx.node, alg=body.alg, credential_types=body.credential_types,
                                         valid_days=body.valid_days)
    else:
        view = await health.register_key(request.ctx.node, certificate=body.certificate_pem.encode(),
                                         credential_types=body.credential_types)
    return json(present.key(view), status=201, ensure_ascii=False)


@bp.get("/keys")
@doc("本地区签发密钥 This region's signing keys", tag="gov", ok=(200, KeyList), secured=False, errors=ISSUER)
@signed
async def keys(request: Request) -> HTTPResponse:
    items = await request.app.ctx.health.keys(request.ctx.node)
    return json({"items": [present.key(v) for v in items]}, ensure_ascii=False)


@bp.post("/keys/<kid:health_kid>/revoke")
@doc("吊销签发密钥 Revoke a signing key", tag="gov", ok=(200, KeyOut), secured=False,
     errors={**ISSUER, 404: ["health_key_not_found"]},
     description="Codes it signed before now still verify; none signed after. The trust list says so at once.")
@signed
async def revoke_key(request: Request, kid: str) -> HTTPResponse:
    view = await request.app.ctx.health.revoke_key(request.ctx.node, kid=kid)
    return json(present.key(view), ensure_ascii=False)


@bp.post("/records")
@doc("推送健康信息 Push health records (tests, vaccinations, trips)", tag="gov", body=RecordsIn,
     ok=(200, RecordsPushedOut), secured=False, errors={400: [*BAD_BODY, "health_record_invalid"], **ISSUER},
     description="Pooled, sealed at rest, kept by a keyed hash of the ID number. Idempotent on `record_id`. "
                 "All or nothing: one bad record stores none. A positive test takes back the person's current "
                 "codes (`codes_revoked`), in every region.")
@signed
async def push_records(request: Request) -> HTTPResponse:
    body = parse_body(request, RecordsIn)
    records = [PushedRecord(record_id=r.record_id, id_number=r.id_number, kind=r.kind, occurred_at=r.occurred_at,
                            result=r.result, dose=r.dose, visited=r.visited, details=r.details)
               for r in body.records]
    outcome = await request.app.ctx.health.push_records(request.ctx.node, records)
    return json(outcome, headers=NO_STORE)


@bp.post("/records/query")
@doc("查询健康信息 A person's health records", tag="gov", body=RecordsQueryIn, ok=(200, RecordQueryOut),
     secured=False, errors={400: [*BAD_BODY, "invalid_id_number"], **ISSUER,
                            403: ["health_issuer_only", "data_grant_required"], 429: ["data_grant_quota_exceeded"],
                            503: ["message_log_unavailable"]},
     description="`own`: the records this provincial platform pushed. `pooled`: every region's records of the "
                 "kinds a grant of the hub's `health-records` data service allows (any node with such a grant), "
                 "under its quota, in the message log and the citizen's data tracker; `X-Road-Issue` and "
                 "`X-Road-UserId` are kept with it. A POST: the ID number stays out of URLs and logs.")
@signed
async def records(request: Request) -> HTTPResponse:
    body = parse_body(request, RecordsQueryIn)
    asked = RecordsAsked(id_number=body.id_number, scope=body.scope, body=request.body or b"",
                         issue=sharing_rules.header_text(request.headers.get("X-Road-Issue"), 200),
                         user_id=sharing_rules.header_text(request.headers.get("X-Road-UserId"), 128),
                         received_at=request.app.ctx.clock.now())
    items, request_id = await request.app.ctx.health.query_records(request.ctx.node, asked)
    return json({"items": [present.record(v) for v in items], "request_id": request_id}, ensure_ascii=False,
                headers=NO_STORE)


@bp.post("/rules")
@doc("发布规则 Publish a rule version (CertLogic)", tag="gov", body=RuleIn, ok=(201, RuleOut), secured=False,
     errors={400: [*BAD_BODY, "health_rule_invalid", "health_rule_starts_too_soon"], **ISSUER,
             409: ["health_rule_version_exists"]},
     description="`acceptance` and `colour-mapping` rules say how this region's checkpoints treat codes; they "
                 "must start at least the lead time (48 h by default) after publication, so every verifier "
                 "holds them first (`health_rule_starts_too_soon` gives `earliest_valid_from`). `colour` rules "
                 "make this region's codes and may start at once.")
@signed
async def publish_rule(request: Request) -> HTTPResponse:
    body = parse_body(request, RuleIn)
    draft = RuleDraft(identifier=body.identifier, version=body.version, type=body.type, logic=body.logic,
                      description=[d.model_dump() for d in body.description], valid_from=body.valid_from,
                      valid_until=body.valid_until, affected_fields=body.affected_fields,
                      certificate_type=body.certificate_type)
    entry = await request.app.ctx.health.publish_rule(request.ctx.node, draft)
    return json(entry, status=201, ensure_ascii=False)


@bp.get("/rules")
@doc("本地区规则 This region's rules, every version", tag="gov", ok=(200, RuleList), secured=False, errors=ISSUER)
@signed
async def region_rules(request: Request) -> HTTPResponse:
    items = await request.app.ctx.health.region_rules(request.ctx.node)
    return json({"items": items}, ensure_ascii=False)


@bp.post("/rules/<identifier:health_rule_id>/<version:health_rule_version>/withdraw")
@doc("撤回规则版本 Withdraw a rule version", tag="gov", ok=(200, RuleOut), secured=False,
     errors={**ISSUER, 404: ["not_found"]}, description="Verifiers drop it at their next update.")
@signed
async def withdraw_rule(request: Request, identifier: str, version: int) -> HTTPResponse:
    entry = await request.app.ctx.health.withdraw_rule(request.ctx.node, identifier=identifier, version=version)
    return json(entry, ensure_ascii=False)


@bp.post("/revocations")
@doc("撤销健康码 Revoke codes this region issued", tag="gov", body=RevokeIn, ok=(200, RevokedOut), secured=False,
     errors={400: [*BAD_BODY, "health_revocation_invalid"], **ISSUER},
     description="By credential id; their hashes (first 128 bits of SHA-256) go out in one signed batch.")
@signed
async def revoke_codes(request: Request) -> HTTPResponse:
    body = parse_body(request, RevokeIn)
    outcome = await request.app.ctx.health.revoke_codes(request.ctx.node, credential_ids=body.credential_ids)
    return json(outcome)


@bp.post("/checks")
@doc("在线核验健康码 Check a code online (checkpoints without a verifier)", tag="gov", body=HealthCheckIn,
     ok=(200, HealthCheckOut), secured=False, errors={400: BAD_BODY, 401: NODE_REFUSALS},
     description="Exactly what the offline verifier answers with the newest lists: accepted, refused (a "
                 "genuine code the checkpoint region's rules or colour do not admit) or invalid, with the "
                 "reason in plain words.")
@signed
async def check(request: Request) -> HTTPResponse:
    body = parse_body(request, HealthCheckIn)
    decision = await request.app.ctx.health.check(credential=body.credential,
                                                  checkpoint_region=body.checkpoint_region, at=body.at)
    return json(decision, ensure_ascii=False, headers=NO_STORE)
