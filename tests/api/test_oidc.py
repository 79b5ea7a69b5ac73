"""Discovery and JWKS over HTTP, and a relying party verifying hub tokens with them alone."""
from __future__ import annotations

import jwt
import pytest
from jwt import PyJWKClient

from domain.identity.models import Person
from tests.support.clock import OFFSET
from tests.support.token_helpers import own_signing_keys


@pytest.fixture(autouse=True)
async def _keys(resources):
    async with own_signing_keys():  # these tests rotate and count keys
        yield


class ServedJWKS(PyJWKClient):
    """PyJWKClient as a provincial platform uses it (cache, refetch on an unknown kid), reading
    the JWKS the hub served instead of opening a socket."""

    def __init__(self, fetch):
        super().__init__("http://hub.test/.well-known/jwks.json", cache_keys=False, lifespan=300)
        self._fetch = fetch
        self.fetches = 0

    def fetch_data(self):
        self.fetches += 1
        data = self._fetch()
        if self.jwk_set_cache is not None:
            self.jwk_set_cache.put(data)
        return data


async def test_discovery_document_is_honest(client, settings):
    response = await client.get("/.well-known/openid-configuration")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["issuer"] == settings.issuer
    assert doc["jwks_uri"] == f"{settings.issuer}/.well-known/jwks.json"
    assert doc["id_token_signing_alg_values_supported"] == ["ES256"]
    assert doc["subject_types_supported"] == ["public"]
    assert doc["acr_values_supported"] == ["L1", "L2", "L3"]
    assert {"iss", "aud", "sub", "acr", "sid", "exp", "jti"} <= set(doc["claims_supported"])
    # No flow for third parties exists, so none is claimed.
    assert "authorization_endpoint" not in doc and "token_endpoint" not in doc
    assert doc["response_types_supported"] == []
    assert doc["govhub_token_issuance"]["audiences"] == {
        "wechat": "govhub-wechat", "alipay": "govhub-alipay", "app": "govhub-app"}
    assert "max-age" in response.headers["cache-control"]


async def test_jwks_is_public_cacheable_and_holds_no_private_parts(client, resources):
    kid = await resources.tokens.ensure_key()
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    keys = response.json()["keys"]
    assert [k["kid"] for k in keys] == [kid]
    assert all(k["alg"] == "ES256" and k["kty"] == "EC" and "d" not in k for k in keys)


# A relying party reads the wall clock (PyJWT has no other); the suite's clock may be moved
# (tests/support/clock.py), so the relying party allows exactly that much.
RELYING_PARTY_LEEWAY = abs(OFFSET)


async def test_a_relying_party_verifies_hub_tokens_with_the_served_jwks(client, resources, settings):
    tokens = resources.tokens
    person = await Person.create(public_id="p-roaming-001", assurance=3)
    await tokens.ensure_key()  # the table was set aside for this test; a running hub has its key
    served = {}

    async def refresh_served():
        served["jwks"] = (await client.get("/.well-known/jwks.json")).json()

    await refresh_served()
    verifier = ServedJWKS(lambda: served["jwks"])
    issued = await tokens.issue(person=person, channel="app", assurance=3, device_id="dev-1")
    key = verifier.get_signing_key_from_jwt(issued.access_token)
    claims = jwt.decode(issued.access_token, key, algorithms=["ES256"], audience="govhub-app",
                        issuer=settings.issuer, leeway=RELYING_PARTY_LEEWAY, options={"require": ["exp", "iat", "nbf", "acr", "sid"]})
    assert claims["sub"] == "p-roaming-001" and claims["acr"] == "L3"
    with pytest.raises(jwt.InvalidAudienceError):
        jwt.decode(issued.access_token, key, algorithms=["ES256"], audience="govhub-wechat",
                   issuer=settings.issuer, leeway=RELYING_PARTY_LEEWAY)

    # After a rotation the new kid is unknown to the verifier's cache: it refetches and goes on.
    await tokens.rotate_key()
    await refresh_served()
    rotated = await tokens.issue(person=person, channel="app", assurance=3, device_id="dev-1")
    fetches = verifier.fetches
    key = verifier.get_signing_key_from_jwt(rotated.access_token)
    assert verifier.fetches > fetches
    assert jwt.decode(rotated.access_token, key, algorithms=["ES256"], audience="govhub-app",
                      issuer=settings.issuer, leeway=RELYING_PARTY_LEEWAY)["sub"] == "p-roaming-001"
    # and the token signed before the rotation still verifies: the old key is in the overlap.
    old = verifier.get_signing_key_from_jwt(issued.access_token)
    assert jwt.decode(issued.access_token, old, algorithms=["ES256"], audience="govhub-app",
                      issuer=settings.issuer, leeway=RELYING_PARTY_LEEWAY)["sid"] == issued.family_id


async def test_both_documents_are_in_the_openapi_spec(client):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/.well-known/openid-configuration", "/.well-known/jwks.json"):
        assert "get" in spec["paths"][path], path
        assert spec["paths"][path]["get"]["summary"]
