"""``/gov/v1``: the signed API of departments and provincial nodes.

``whoami`` and ``echo`` exist so that a node's developer can test their signer before the first
real call; ``hub-key`` publishes the key that signs the hub's calls to nodes.
"""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json
from sanic_ext import openapi
from sanic_ext.extensions.openapi.definitions import Response

from bff.gov.auth import SECURITY_SCHEME, authenticate_node
from domain.nodes import signatures

bp = Blueprint("gov", url_prefix="/gov/v1")
bp.on_request(authenticate_node)

PROBLEM = {"application/problem+json": {"type": str, "title": str, "status": int, "detail": str, "code": str}}
REFUSED = Response(PROBLEM, status=401, description=(
    "Signature refused; code: `node_headers_missing`, `node_headers_invalid`, `node_unknown`, "
    "`node_disabled`, `node_timestamp_stale` (with `server_time`), `node_signature_invalid` "
    "(with `string_to_sign`, the string the hub expected), `node_nonce_replayed`"))
UNAVAILABLE = Response(PROBLEM, status=503,
                       description="`upstream_unavailable`: the nonce store is unreachable; "
                                   "retry with a new nonce")
IDENTITY = {"code": str, "kind": str, "name": str, "region_code": str}
ECHO = {"node": str, "method": str, "target": str, "body_bytes": int, "body_sha256": str,
        "string_to_sign": str}
HUB_KEY = {"node_code": str, "key_id": str, "algorithm": str, "scheme": str, "public_key_pem": str}


@bp.get("/whoami")
@openapi.definition(
    summary="节点身份 Who am I: the node as the hub sees it", tag="gov", secured={SECURITY_SCHEME: []},
    description="Test a node's signer: a signed GET answers with the node's registration.",
    response=[Response({"application/json": IDENTITY}, status=200, description="The signing node"),
              REFUSED, UNAVAILABLE],
)
async def whoami(request: Request):
    node = request.ctx.node
    return json({"code": node.code, "kind": node.kind, "name": node.name, "region_code": node.region_code},
                ensure_ascii=False)


@bp.post("/echo")
@openapi.definition(
    summary="签名调试 Echo: what the hub computed over a signed body", tag="gov",
    secured={SECURITY_SCHEME: []},
    description=("Any body (JSON or not) is accepted and not interpreted. The answer shows the body "
                 "digest and the string to sign as the hub computed them, to compare with the node's own."),
    body={"application/octet-stream": {"type": "string", "format": "binary"}},
    response=[Response({"application/json": ECHO}, status=200, description="What the hub computed"),
              REFUSED, UNAVAILABLE],
)
async def echo(request: Request):
    body = request.body or b""
    headers = request.headers
    message = signatures.string_to_sign(
        node=headers[signatures.HEADER_NODE], method=request.method, path=request.path,
        query_string=request.query_string, timestamp=headers[signatures.HEADER_TIMESTAMP],
        nonce=headers[signatures.HEADER_NONCE], body=body)
    return json({"node": request.ctx.node.code, "method": request.method,
                 "target": signatures.canonical_target(request.path, request.query_string),
                 "body_bytes": len(body), "body_sha256": signatures.body_digest(body),
                 "string_to_sign": message}, ensure_ascii=False)


@bp.get("/hub-key", ctx_public=True)
@openapi.definition(
    summary="平台节点公钥 The hub's node key", tag="gov",
    description=("The public key that signs the hub's calls to nodes (X-Gov-Node: govhub), with its key "
                 "id (first 8 bytes of SHA-256 over the DER SubjectPublicKeyInfo, hex). Not signed: "
                 "pin the key id you obtained through the registration channel."),
    response=Response({"application/json": HUB_KEY}, status=200, description="The hub's public key"),
)
async def hub_key(request: Request):
    key = request.app.ctx.hub_node_key
    return json({"node_code": key.node_code, "key_id": key.key_id, "algorithm": key.algorithm,
                 "scheme": key.scheme, "public_key_pem": key.public_key_pem})
