"""Shared by the token tests: a TokenService on a FrozenClock and forging helpers. Each test
module declares its own small fixtures from these (imported fixtures confuse linters)."""
from __future__ import annotations

import base64
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from adapters.cache.revocations import RedisSessionRevocations
from domain.identity.models import SigningKey
from domain.identity.tokens import TokenService

ISSUER = "https://hub.test"
DAY = 24 * 3600
WX = "govhub-wechat"


START = datetime(2025, 6, 1, 2, 0, tzinfo=UTC)


@asynccontextmanager
async def own_signing_keys():
    """Run with an empty ``signing_keys`` table and put the session's keys back afterwards.

    conftest keeps signing keys across tests (the hub's service caches its ring); key tests need
    a known table, and must not leave keys retired at FrozenClock times behind for later tests.
    The hub's service copes with the gap: it creates a key when it finds none active."""
    saved = await SigningKey.all().values()
    await SigningKey.all().delete()
    try:
        yield
    finally:
        await SigningKey.all().delete()
        await SigningKey.bulk_create([SigningKey(**row) for row in saved])


def make_service(resources, clock) -> TokenService:
    return TokenService(vault=resources.vault, clock=clock, issuer=ISSUER, access_ttl=900,
                        refresh_ttl=30 * DAY, overlap_seconds=DAY,
                        revocations=RedisSessionRevocations(resources.redis.aio))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


async def private_key(resources, kid: str):
    row = await SigningKey.get(kid=kid)
    pem = resources.vault.open(row.private_key_sealed, context=f"signing_key:{kid}")
    return load_pem_private_key(pem.encode(), password=None)


async def resign(resources, token: str, **changes) -> str:
    """The same token with changed claims, signed properly with the hub's own key."""
    kid = jwt.get_unverified_header(token)["kid"]
    claims = {**claims_of(token), **changes}
    return jwt.encode(claims, await private_key(resources, kid), algorithm="ES256", headers={"kid": kid})
