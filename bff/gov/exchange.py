"""``/r1/...``: the exchange in X-Road's message protocol for REST (docs/sharing.md).

``METHOD /r1/{instance}/{memberClass}/{memberCode}/{subsystem}/{serviceCode}[/path]`` with
``X-Road-Client``, signed like every node request. Everything is decided by the domain
(``domain/sharing/exchange.py``); this route only carries bytes and headers both ways. A refusal
is a problem document with the X-Road headers and ``X-Road-Error`` (its code).
"""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw
from sanic_ext import openapi

from bff.common.docs import Header, doc
from bff.common.errors import domain_problem
from bff.gov.auth import NODE_REFUSALS, SECURITY_SCHEME, authenticate_node
from domain.shared.errors import DomainError
from domain.sharing.rules import METHODS
from domain.sharing.service import ExchangeRequest

bp = Blueprint("gov_exchange", url_prefix="/r1")
bp.on_request(authenticate_node)

ANSWER_HEADERS = (
    Header("X-Road-Request-Id", "the hub's id of this call in the message log"),
    Header("X-Road-Request-Hash", "base64 SHA-512 binding the answer to the request (docs/sharing.md)"),
    Header("X-Road-Id", "the message id: the client's X-Road-Id, or one the hub made"),
    Header("X-Road-Client", "the client, as sent"), Header("X-Road-Service", "the service id called"))
REQUEST_HEADERS = (
    Header("X-Road-Client", "{instance}/{memberClass}/{memberCode}[/{subsystem}]: CN/GOV/<your node code>[/...]",
           required=True),
    Header("X-Road-Id", "your message id (a UUID); the hub makes one if absent"),
    Header("X-Road-UserId", "the official whose action caused the call"),
    Header("X-Road-Issue", "the case (application, file) behind the call"))
ERRORS = {400: ["xroad_request_invalid"], 401: NODE_REFUSALS,
          403: ["xroad_client_mismatch", "data_grant_required"], 404: ["data_service_not_found"],
          429: ["data_grant_quota_exceeded"], 502: ["provider_unavailable", "provider_answer_invalid"],
          503: ["message_log_unavailable"], 504: ["provider_timeout"]}
ANSWER = {"description": "the service's answer, cut down to the granted fields (an object, or a list of them)",
          "oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
DESCRIPTION = ("Forwarded to the provider, signed by the hub, when a grant lets the signing node call this "
               "service, method and path and its quota has a token; the answer carries only the granted "
               "fields. Every call, refused or not, is in the message log.")


SERVICE_ID = ("/<instance:xroad_part>/<member_class:xroad_part>/<member_code:node_code>/<subsystem:xroad_part>"
              "/<service_code:data_service_code>")


async def _call(request: Request) -> HTTPResponse:
    raw_path = request.path  # still percent-encoded, as signed and as the service id is parsed
    try:
        answer = await request.app.ctx.sharing.call(ExchangeRequest(
            node=request.ctx.node.code, method=request.method, raw_path=raw_path, query=request.query_string,
            headers=dict(request.headers), body=request.body or b"", received_at=request.app.ctx.clock.now()))
    except DomainError as refusal:
        response = domain_problem(request, refusal)
        response.headers.update(getattr(refusal, "xroad_headers", {}))
        response.headers["X-Road-Error"] = f"Server.ServerProxy.{refusal.code}"
        return response
    return raw(answer.body, status=answer.status, content_type=answer.content_type,
               headers={**answer.headers, "Cache-Control": "no-store"})


def _route(method: str):
    @bp.route(SERVICE_ID + "/<rest:path>", methods=[method], name=f"exchange_{method.lower()}")
    @doc(f"数据交换 Call a data service ({method})", tag="exchange", ok=(200, ANSWER), secured=False,
         headers=REQUEST_HEADERS, ok_headers=ANSWER_HEADERS, errors=ERRORS, description=DESCRIPTION)
    @openapi.secured(SECURITY_SCHEME)
    async def handler(request: Request, **_service_id: str) -> HTTPResponse:
        return await _call(request)
    return handler


# The service id, then the service's own path (the catalog holds each service's OpenAPI).
handlers = [_route(method) for method in METHODS]
