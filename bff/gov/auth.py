"""Every ``/gov/v1`` route is signed unless it says ``ctx_public=True``: the check is on by default,
so a route added later cannot forget it."""
from __future__ import annotations

from sanic import Request

from bff.common.errors import domain_problem
from domain.nodes.errors import NodeAuthError
from domain.nodes.signatures import SCHEME

SECURITY_SCHEME = "govNodeSignature"  # the name in the OpenAPI document
# The 401 codes of a signed route (domain/nodes/errors.py), for the OpenAPI document
NODE_REFUSALS = ["node_headers_missing", "node_headers_invalid", "node_unknown", "node_disabled",
                 "node_timestamp_stale", "node_signature_invalid", "node_nonce_replayed"]
# RFC 9110: a 401 names the scheme that would be accepted.
CHALLENGE = f'{SCHEME} realm="govhub", headers="X-Gov-Node X-Gov-Timestamp X-Gov-Nonce X-Gov-Signature"'


async def authenticate_node(request: Request):
    """Request middleware of the gov blueprint: sets ``request.ctx.node`` (a NodeIdentity)."""
    route = request.route
    if route is not None and getattr(route.ctx, "public", False):
        return None
    try:
        # request.path and request.query_string are the raw, still percent-encoded bytes of the
        # request line, and request.body the raw body: exactly what the node signed.
        request.ctx.node = await request.app.ctx.nodes.authenticate(
            method=request.method, path=request.path, query_string=request.query_string,
            headers=request.headers, body=request.body or b"")
    except NodeAuthError as error:
        response = domain_problem(request, error)
        response.headers["WWW-Authenticate"] = CHALLENGE
        return response
    return None


def describe_security(app) -> None:
    app.ext.openapi.add_security_scheme(
        SECURITY_SCHEME, "apiKey", location="header", name="X-Gov-Signature",
        description=(f"{SCHEME}: ECDSA P-256/SHA-256 signature (DER, base64) by the node's registered key, "
                     "with X-Gov-Node, X-Gov-Timestamp and X-Gov-Nonce. "
                     "The string to sign is in docs/nodes.md."),
    )
