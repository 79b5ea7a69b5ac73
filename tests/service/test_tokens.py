"""TokenService against the database and Redis: issue, verify, every forgery, refresh, revoke."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from domain.identity.errors import RefreshTokenReused, TokenInvalid
from domain.identity.models import Person, RefreshToken, SigningKey
from domain.shared.errors import InvalidInput
from tests.support.token_fixtures import alice, own_keys, tokens  # noqa: F401  (fixtures)
from tests.support.token_helpers import (
    DAY,
    ISSUER,
    START,
    WX,
    b64,
    claims_of,
    resign,
)

pytestmark = pytest.mark.frozen_at(START)


async def test_issue_and_verify(tokens, alice, clock):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    assert issued.token_type == "Bearer" and issued.expires_in == 900
    header = jwt.get_unverified_header(issued.access_token)
    assert header["alg"] == "ES256" and header["kid"] == await tokens.ensure_key()
    raw = claims_of(issued.access_token)
    assert raw["sub"] == "p-alice-0001" and raw["acr"] == "L2" and raw["aud"] == WX and raw["iss"] == ISSUER
    assert raw["sid"] == issued.family_id and raw["exp"] - raw["iat"] == 900 and raw["nbf"] == raw["iat"]
    claims = await tokens.verify(issued.access_token, audience=WX)
    assert (claims.subject, claims.assurance, claims.family_id, claims.channel) == \
        ("p-alice-0001", 2, issued.family_id, "wechat")
    assert claims.token_id == raw["jti"] and claims.expires_at.timestamp() == raw["exp"]


async def test_expired_and_not_yet_valid_tokens_are_refused(tokens, alice, clock, resources):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    early = await resign(resources, issued.access_token, nbf=int(clock.now().timestamp()) + 60)
    with pytest.raises(TokenInvalid):
        await tokens.verify(early, audience=WX)
    clock.advance(899)
    await tokens.verify(issued.access_token, audience=WX)
    clock.advance(1)
    with pytest.raises(TokenInvalid, match="过期"):
        await tokens.verify(issued.access_token, audience=WX)


async def test_wrong_audience_and_wrong_issuer_are_refused(tokens, alice, resources):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    with pytest.raises(TokenInvalid):
        await tokens.verify(issued.access_token, audience="govhub-app")
    with pytest.raises(TokenInvalid):
        await tokens.verify(await resign(resources, issued.access_token, iss="https://evil.test"), audience=WX)


async def test_alg_none_and_hs256_with_the_public_key_are_refused(tokens, alice, resources):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=1)
    kid = jwt.get_unverified_header(issued.access_token)["kid"]
    payload = b64(json.dumps({**claims_of(issued.access_token), "acr": "L3"}).encode())
    none = b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode()) + "." + payload + "."
    with pytest.raises(TokenInvalid):
        await tokens.verify(none, audience=WX)
    # The classic confusion: HMAC keyed with the published public key, hoping the verifier
    # feeds its public key to HS256.
    row = await SigningKey.get(kid=kid)
    public_pem = jwt.algorithms.ECAlgorithm.from_jwk(row.public_jwk).public_bytes(
        Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    for secret in (public_pem, json.dumps(row.public_jwk).encode()):
        signing_input = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode()) + "." + payload
        forged = signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())
        with pytest.raises(TokenInvalid):
            await tokens.verify(forged, audience=WX)


async def test_unknown_kid_bad_signature_tampering_and_garbage_are_refused(tokens, alice):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=1)
    claims, kid = claims_of(issued.access_token), jwt.get_unverified_header(issued.access_token)["kid"]
    stranger = ec.generate_private_key(ec.SECP256R1())
    for forged in (jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": "AAAAAAAAAAA"}),
                   jwt.encode(claims, stranger, algorithm="ES256", headers={"kid": kid}),  # our kid, not our key
                   jwt.encode(claims, stranger, algorithm="ES256")):  # no kid
        with pytest.raises(TokenInvalid):
            await tokens.verify(forged, audience=WX)
    head, _, signature = issued.access_token.split(".")
    tampered = head + "." + b64(json.dumps({**claims, "acr": "L3"}).encode()) + "." + signature
    with pytest.raises(TokenInvalid, match="签名"):
        await tokens.verify(tampered, audience=WX)
    for garbage in ("", "abc", "a.b.c", "x" * 5000, issued.access_token + ".x", None):
        with pytest.raises(TokenInvalid):
            await tokens.verify(garbage, audience=WX)


async def test_logout_revokes_access_and_refresh_tokens_at_once(tokens, alice, resources):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    other = await tokens.issue(person=alice, channel="wechat", assurance=2)  # another login stays
    await tokens.revoke(family_id=issued.family_id)
    with pytest.raises(TokenInvalid):
        await tokens.verify(issued.access_token, audience=WX)
    with pytest.raises(TokenInvalid):
        await tokens.refresh(refresh_token=issued.refresh_token, channel="wechat")
    with pytest.raises(TokenInvalid):  # and nobody re-opens the login
        await tokens.issue(person=alice, channel="wechat", assurance=2, family_id=issued.family_id)
    await tokens.verify(other.access_token, audience=WX)
    ttl = await resources.redis.aio.ttl(f"govhub:revoked-sid:{issued.family_id}")
    assert 900 <= ttl <= 960  # kept as long as an access token of the family can live


async def test_a_token_checked_before_is_still_checked_for_audience_and_revocation(tokens, alice):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    await tokens.verify(issued.access_token, audience=WX)  # its signature is remembered from here
    head, claims_part, signature = issued.access_token.split(".")
    with pytest.raises(TokenInvalid, match="签名"):  # one character off is another token: checked in full
        await tokens.verify(f"{head}.{claims_part}.{signature[:-2]}{'A' if signature[-2] != 'A' else 'B'}"
                            f"{signature[-1]}", audience=WX)
    with pytest.raises(TokenInvalid):
        await tokens.verify(issued.access_token, audience="govhub-alipay")
    await tokens.revoke(family_id=issued.family_id)
    with pytest.raises(TokenInvalid):
        await tokens.verify(issued.access_token, audience=WX)


async def test_refresh_rotates_and_stores_only_hashes(tokens, alice, clock):
    first = await tokens.issue(person=alice, channel="alipay", assurance=2)
    assert len(first.refresh_token) >= 43
    clock.advance(600)
    second = await tokens.refresh(refresh_token=first.refresh_token, channel="alipay")
    assert second.refresh_token != first.refresh_token and second.family_id == first.family_id
    claims = await tokens.verify(second.access_token, audience="govhub-alipay")
    assert claims.family_id == first.family_id and claims.subject == "p-alice-0001"
    rows = await RefreshToken.filter(family_id=first.family_id).order_by("id")
    assert [r.token_hash for r in rows] == [hashlib.sha256(t.encode()).hexdigest()
                                            for t in (first.refresh_token, second.refresh_token)]
    assert rows[0].used_at is not None and rows[1].used_at is None


async def test_reusing_a_spent_refresh_token_revokes_the_whole_family(tokens, alice):
    first = await tokens.issue(person=alice, channel="wechat", assurance=2)
    second = await tokens.refresh(refresh_token=first.refresh_token, channel="wechat")
    with pytest.raises(RefreshTokenReused):
        await tokens.refresh(refresh_token=first.refresh_token, channel="wechat")
    with pytest.raises(TokenInvalid):  # the newer one, maybe in a thief's hands, dies too
        await tokens.refresh(refresh_token=second.refresh_token, channel="wechat")
    with pytest.raises(TokenInvalid):
        await tokens.verify(second.access_token, audience=WX)


async def test_refresh_refusals_for_unknown_expired_and_other_channel(tokens, alice, clock):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    for bad in ("", "x" * 43, issued.refresh_token + "x", issued.refresh_token[1:]):
        with pytest.raises(TokenInvalid):
            await tokens.refresh(refresh_token=bad, channel="wechat")
    with pytest.raises(TokenInvalid):
        await tokens.refresh(refresh_token=issued.refresh_token, channel="alipay")
    clock.advance(30 * DAY)
    with pytest.raises(TokenInvalid, match="过期"):
        await tokens.refresh(refresh_token=issued.refresh_token, channel="wechat")


async def test_app_refresh_tokens_are_bound_to_their_device(tokens, alice):
    with pytest.raises(InvalidInput):
        await tokens.issue(person=alice, channel="app", assurance=2)
    issued = await tokens.issue(person=alice, channel="app", assurance=2, device_id="device-A")
    for other in ("device-B", None):
        with pytest.raises(TokenInvalid):
            await tokens.refresh(refresh_token=issued.refresh_token, channel="app", device_id=other)
    # A token presented from another device has leaked: the login is revoked.
    with pytest.raises(TokenInvalid):
        await tokens.refresh(refresh_token=issued.refresh_token, channel="app", device_id="device-A")


async def test_app_refresh_keeps_the_binding(tokens, alice):
    issued = await tokens.issue(person=alice, channel="app", assurance=2, device_id="device-A")
    again = await tokens.refresh(refresh_token=issued.refresh_token, channel="app", device_id="device-A")
    assert (await tokens.verify(again.access_token, audience="govhub-app")).channel == "app"
    with pytest.raises(TokenInvalid):
        await tokens.refresh(refresh_token=again.refresh_token, channel="app", device_id="device-B")


async def test_refresh_follows_the_person_as_they_are_now(tokens, alice):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    survivor = await Person.create(public_id="p-survivor-01", assurance=1)
    alice.merged_into_id = survivor.id
    await alice.save()
    merged = await tokens.refresh(refresh_token=issued.refresh_token, channel="wechat")
    claims = await tokens.verify(merged.access_token, audience=WX)
    assert claims.subject == "p-survivor-01" and claims.assurance == 1
    survivor.assurance = 2
    await survivor.save()
    raised = await tokens.refresh(refresh_token=merged.refresh_token, channel="wechat")
    assert (await tokens.verify(raised.access_token, audience=WX)).assurance == 2
    assert (await RefreshToken.get(token_hash=hashlib.sha256(raised.refresh_token.encode()).hexdigest())
            ).person_id == survivor.id


async def test_issuing_into_a_login_supersedes_its_refresh_token(tokens, alice):
    first = await tokens.issue(person=alice, channel="wechat", assurance=2)
    stepped_up = await tokens.issue(person=alice, channel="wechat", assurance=3, family_id=first.family_id)
    assert stepped_up.family_id == first.family_id
    assert (await tokens.verify(stepped_up.access_token, audience=WX)).assurance == 3
    with pytest.raises(RefreshTokenReused):
        await tokens.refresh(refresh_token=first.refresh_token, channel="wechat")


async def test_two_refreshes_racing_with_one_token_leave_one_winner_and_revoke_the_login(tokens, alice):
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    results = await asyncio.gather(*(tokens.refresh(refresh_token=issued.refresh_token, channel="wechat")
                                     for _ in range(2)), return_exceptions=True)
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1 and isinstance(next(r for r in results if r not in winners), RefreshTokenReused)
    with pytest.raises(TokenInvalid):
        await tokens.verify(winners[0].access_token, audience=WX)


async def test_a_refresh_that_commits_during_a_logout_is_undone(tokens, alice):
    """Logout marks Redis first, then the database; a refresh checks Redis after committing."""
    issued = await tokens.issue(person=alice, channel="wechat", assurance=2)
    await tokens._revocations.revoke(issued.family_id, ttl_seconds=60)  # logout half done
    with pytest.raises(TokenInvalid):
        await tokens.refresh(refresh_token=issued.refresh_token, channel="wechat")
    assert await RefreshToken.filter(family_id=issued.family_id, revoked_at=None).count() == 0
