"""Signing keys: sealed at rest, published as a JWKS, rotated with an overlap window, and a
rotation by one worker picked up by the others."""
from __future__ import annotations

import jwt
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.identity import token_rules
from domain.identity.errors import TokenInvalid
from domain.identity.models import SigningKey
from domain.identity.tokens import TokenService
from tests.support.token_fixtures import alice, own_keys, tokens  # noqa: F401  (fixtures)
from tests.support.token_helpers import (
    DAY,
    ISSUER,
    START,
    WX,
    claims_of,
    make_service,
    private_key,
)

pytestmark = pytest.mark.frozen_at(START)


async def test_private_keys_are_sealed_and_bound_to_their_kid(tokens, resources):
    kid = await tokens.ensure_key()
    assert await tokens.ensure_key() == kid and await SigningKey.all().count() == 1
    row = await SigningKey.get(kid=kid)
    assert row.private_key_sealed.startswith("v1:") and "PRIVATE" not in row.private_key_sealed
    with pytest.raises(InvalidTag):
        resources.vault.open(row.private_key_sealed, context="signing_key:another")
    public = jwt.algorithms.ECAlgorithm.from_jwk(row.public_jwk)
    assert kid == token_rules.key_id(public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


async def test_rotation_keeps_old_tokens_valid_for_the_overlap_window(tokens, alice, clock, resources):
    old = await tokens.issue(person=alice, channel="wechat", assurance=2)
    old_kid = jwt.get_unverified_header(old.access_token)["kid"]
    clock.advance(60)
    new_kid = await tokens.rotate_key()
    assert new_kid != old_kid
    assert [k["kid"] for k in (await tokens.jwks())["keys"]] == [new_kid, old_kid]
    await tokens.verify(old.access_token, audience=WX)  # signed before the rotation
    fresh = await tokens.issue(person=alice, channel="wechat", assurance=2)
    assert jwt.get_unverified_header(fresh.access_token)["kid"] == new_kid  # retired keys never sign
    clock.advance(DAY + 1)
    assert [k["kid"] for k in (await tokens.jwks())["keys"]] == [new_kid]
    # Even a fresh token signed with the old key (say it leaked) is refused after the window.
    late = jwt.encode({**claims_of(old.access_token), "iat": int(clock.now().timestamp()),
                       "nbf": int(clock.now().timestamp()), "exp": int(clock.now().timestamp()) + 900},
                      await private_key(resources, old_kid), algorithm="ES256", headers={"kid": old_kid})
    with pytest.raises(TokenInvalid, match="密钥"):
        await tokens.verify(late, audience=WX)


async def test_jwks_publishes_public_keys_only(tokens):
    (key,) = (await tokens.jwks())["keys"]
    assert key["kty"] == "EC" and key["crv"] == "P-256" and key["alg"] == "ES256" and key["use"] == "sig"
    assert "d" not in key and key["kid"] == await tokens.ensure_key()


async def test_another_worker_picks_up_a_rotation(tokens, alice, resources, clock):
    worker_b = make_service(resources, clock)  # same database, its own key-ring cache
    await worker_b.verify((await tokens.issue(person=alice, channel="wechat", assurance=2)).access_token,
                          audience=WX)
    await tokens.rotate_key()
    rotated = await tokens.issue(person=alice, channel="wechat", assurance=2)
    clock.advance(1)
    with pytest.raises(TokenInvalid):  # unknown kids reload the ring at most every 5 s
        await worker_b.verify(rotated.access_token, audience=WX)
    clock.advance(4)
    assert (await worker_b.verify(rotated.access_token, audience=WX)).subject == "p-alice-0001"
    # and B signs with the new key too, though it had never heard of it when it last signed
    from_b = await worker_b.issue(person=alice, channel="wechat", assurance=2)
    assert jwt.get_unverified_header(from_b.access_token)["kid"] == jwt.get_unverified_header(
        rotated.access_token)["kid"]


def test_the_overlap_must_outlive_access_tokens(resources, clock):
    with pytest.raises(ValueError):
        TokenService(vault=resources.vault, clock=clock, issuer=ISSUER, access_ttl=900,
                     refresh_ttl=DAY, overlap_seconds=600, revocations=None)
