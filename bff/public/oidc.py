"""OIDC discovery and the JWKS: what a provincial platform needs to verify a hub token itself.

The hub is not a general OpenID provider: it issues tokens only to its own channels (WeChat and
Alipay mini-programs, the app) after their logins, and has no authorization or token endpoint for
third parties. The discovery document says so (``govhub_token_issuance``) instead of advertising
endpoints that do not exist; what it does offer is the issuer, the keys, the algorithm, the
audiences and the meaning of ``acr``. See docs/roaming-sso.md.
"""
from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import json

from bff.common.docs import doc
from bff.common.schemas import Out

from domain.identity import token_rules

bp = Blueprint("oidc")

JWKS_MAX_AGE = 300  # seconds; verifiers also refetch at once on an unknown kid
DISCOVERY_MAX_AGE = 3600
CLAIMS = ["iss", "aud", "sub", "acr", "sid", "iat", "nbf", "exp", "jti"]
ACR_MEANING = {
    "L1": "logged in through a channel (WeChat, Alipay, SMS code) / 渠道登录",
    "L2": "real name checked against the public-security register / 实名核验",
    "L3": "real name plus face verification / 实名+人脸核验",
}


class Discovery(Out):
    issuer: str
    jwks_uri: str
    id_token_signing_alg_values_supported: list[str]
    access_token_signing_alg_values_supported: list[str]
    subject_types_supported: list[str]
    acr_values_supported: list[str]
    claims_supported: list[str]
    response_types_supported: list[str]
    grant_types_supported: list[str]
    service_documentation: str
    govhub_token_issuance: dict[str, object]


class Jwk(Out):
    kty: str
    crv: str
    x: str
    y: str
    kid: str
    use: str
    alg: str


class Jwks(Out):
    keys: list[Jwk]


@bp.get("/.well-known/openid-configuration", ctx_public=True)
@doc("OIDC 发现文档 Discovery document", tag="public", ok=(200, Discovery), secured=False,
     description=("Issuer, JWKS location, algorithm (ES256 only) and the meaning of `acr`. The hub "
                  "issues tokens only to its own channels: there is no authorization endpoint."))
async def discovery(request: Request):
    issuer = request.app.ctx.tokens.issuer
    document = {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "id_token_signing_alg_values_supported": [token_rules.ALGORITHM],
        "access_token_signing_alg_values_supported": [token_rules.ALGORITHM],
        "subject_types_supported": ["public"],
        "acr_values_supported": list(token_rules.ACR_VALUES),
        "claims_supported": CLAIMS,
        # Honest about the flows: none is offered to third parties (OIDC asks for this field).
        "response_types_supported": [],
        "grant_types_supported": [],
        "service_documentation": f"{issuer}/docs",
        "govhub_token_issuance": {
            "mode": "first-party-channels-only",
            "description": ("Tokens are issued only to the hub's own channels after their login. "
                            "Relying parties verify them with the JWKS; they cannot obtain tokens here."),
            "audiences": dict(token_rules.AUDIENCE_OF_CHANNEL),
            "acr_meaning": ACR_MEANING,
        },
    }
    return json(document, headers={"Cache-Control": f"public, max-age={DISCOVERY_MAX_AGE}"},
                ensure_ascii=False)


@bp.get("/.well-known/jwks.json", ctx_public=True)
@doc("签名公钥 JSON Web Key Set", tag="public", ok=(200, Jwks), secured=False,
     description=("Public keys (EC P-256, ES256) that sign access tokens. A key stays listed for the "
                  "overlap window after it is retired. Cache it; refetch when a token names an unknown kid."))
async def jwks(request: Request):
    keys = await request.app.ctx.tokens.jwks()
    return json(keys, headers={"Cache-Control": f"public, max-age={JWKS_MAX_AGE}"})
