"""Access tokens (ES256 JWTs), refresh tokens (opaque, rotated on every use) and signing keys.

An access token lives ``access_ttl`` seconds and is verified without the database: the key ring
is cached per worker and the only per-request lookup is the revocation store (logout and theft
must stop a login at once). A refresh token is random, stored as SHA-256, single use; the tokens
descending from one login form a *family* (the ``sid`` claim), revoked as a whole on logout or
when a spent refresh token comes back (it leaked). The decisions live in ``token_rules``.
"""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

import jwt
from tortoise.transactions import in_transaction

from domain.identity import token_rules as rules
from domain.identity.errors import RefreshTokenReused, TokenInvalid
from domain.identity.models import Person, RefreshToken
from domain.identity.ports import SessionRevocations
from domain.identity.rules import current_assurance
from domain.identity.signing_keys import KeyRing
from domain.identity.token_rules import ALGORITHM, AccessClaims
from domain.shared.clock import Clock
from domain.shared.errors import InvalidInput
from domain.shared.vault import Vault

__all__ = ["AccessClaims", "IssuedSession", "TokenService"]

log = logging.getLogger("govhub.tokens")

REVOCATION_MARGIN = 60  # seconds kept beyond the access-token lifetime, for clock skew
MAX_MERGE_HOPS = 8
MAX_SIGNED_REMEMBERED = 20_000  # tokens whose signature check is remembered (see TokenService)
_REFUSALS = {"revoked": "该登录已注销，请重新登录", "expired": "登录已过期，请重新登录",
             "wrong_channel": "刷新令牌不属于该渠道", "wrong_device": "刷新令牌不属于该设备"}


@dataclass(frozen=True, kw_only=True)
class IssuedSession:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives
    family_id: str  # the login: pass it to ``revoke`` on logout
    subject: str  # the person the tokens name (public id)
    token_type: str = "Bearer"


class TokenService:
    def __init__(self, *, vault: Vault, clock: Clock, issuer: str, access_ttl: int, refresh_ttl: int,
                 overlap_seconds: int, revocations: SessionRevocations) -> None:
        rules.check_overlap(overlap_seconds=overlap_seconds, access_ttl=access_ttl)
        self._clock = clock
        self.issuer = issuer
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        self.overlap_seconds = overlap_seconds
        self._revocations = revocations
        self.keys = KeyRing(vault=vault, clock=clock, overlap_seconds=overlap_seconds)
        # token -> (kid, payload) of tokens whose signature was checked: an ES256 check is ~95 µs,
        # a tenth of a whole request. Only the signature is remembered; the key must still be
        # published, and times, audience and revocation are checked on every call.
        self._signed: dict[str, tuple[str, dict]] = {}

    # --- signing keys (see signing_keys.py) -----------------------------------------------------

    async def ensure_key(self) -> str:
        """The kid that signs now; creates the first key if there is none."""
        return await self.keys.ensure()

    async def rotate_key(self) -> str:
        """Create a new signing key and retire the others; returns the new kid. Retired keys stay
        in the JWKS for the overlap window, so tokens they signed keep verifying until expiry."""
        return await self.keys.rotate()

    async def jwks(self) -> dict:
        return await self.keys.jwks()

    # --- issuing and refreshing -----------------------------------------------------------------

    async def issue(self, *, person: Person, channel: str, assurance: int | str, family_id: str | None = None,
                    device_id: str | None = None) -> IssuedSession:
        """A new login (``family_id=None``), or a new session in an existing login (e.g. after a
        face verification raised the assurance): its live refresh token is then superseded."""
        rules.audience_of(channel)
        level = rules.level_of(assurance)
        person = await _survivor(person)
        now = self._clock.now()
        existing = family_id is not None
        async with in_transaction():
            if existing:  # the login keeps its device binding
                device_id = await self._supersede(family_id, channel=channel, now=now) or device_id
            else:
                family_id = secrets.token_hex(16)
            if channel in rules.DEVICE_BOUND_CHANNELS and not device_id:
                raise InvalidInput("缺少设备标识 device_id", errors=[{"field": "device_id", "message": "必填项"}])
            refresh = await self._store_refresh(person_id=person.id, channel=channel, device_id=device_id,
                                                assurance=level, family_id=family_id, now=now)
        if existing:
            await self._check_not_revoked_after_commit(family_id)
        return await self._session(person.public_id, channel, level, family_id, refresh, now)

    async def refresh(self, *, refresh_token: str, channel: str, device_id: str | None = None) -> IssuedSession:
        """Spend a refresh token for a new pair, for the person as they are now (merged into a
        survivor, assurance raised or lowered since)."""
        rules.audience_of(channel)
        record = None
        if isinstance(refresh_token, str) and 32 <= len(refresh_token) <= 256:
            record = await RefreshToken.get_or_none(token_hash=rules.hash_refresh_token(refresh_token))
        if record is None:
            raise TokenInvalid("刷新令牌无效")
        now = self._clock.now()
        refusal = rules.refresh_refusal(
            revoked=record.revoked_at is not None, used=record.used_at is not None,
            expires_at=record.expires_at, bound_channel=record.channel, bound_device=record.device_id,
            now=now, channel=channel, device_id=device_id)
        if refusal is None:
            issued = await self._rotate(record, now)
            if issued is not None:
                return issued
            refusal = "reused"  # a concurrent refresh spent it between our read and our write
        await self._refuse(record.family_id, refusal)

    async def revoke(self, *, family_id: str) -> None:
        """Log out one login: its refresh tokens, and at once its access tokens too."""
        # Redis first, then the database: a refresh racing with us either sees the mark (it
        # checks after committing) or committed before our UPDATE, which then revokes its row.
        await self._revocations.revoke(family_id, ttl_seconds=self.access_ttl + REVOCATION_MARGIN)
        await RefreshToken.filter(family_id=family_id, revoked_at=None).update(revoked_at=self._clock.now())

    async def _rotate(self, record: RefreshToken, now: datetime) -> IssuedSession | None:
        async with in_transaction():
            spent = await RefreshToken.filter(id=record.id, used_at=None, revoked_at=None).update(used_at=now)
            if not spent:
                return None
            person = await _survivor(await Person.get(id=record.person_id))
            # As at login: L3 lasts only while the face scan is fresh, so a refresh may step down.
            level = current_assurance(stored=person.assurance, face_verified_at=person.face_verified_at, now=now)
            refresh = await self._store_refresh(
                person_id=person.id, channel=record.channel, device_id=record.device_id,
                assurance=level, family_id=record.family_id, now=now)
        await self._check_not_revoked_after_commit(record.family_id)
        return await self._session(person.public_id, record.channel, level, record.family_id, refresh, now)

    async def _refuse(self, family_id: str, refusal: str) -> NoReturn:
        if refusal in rules.LEAK_REFUSALS:
            log.warning("refresh token %s: revoking login family %s", refusal, family_id)
            await self.revoke(family_id=family_id)
            if refusal == "reused":
                raise RefreshTokenReused("刷新令牌已被使用过，为安全起见该登录已注销")
        raise TokenInvalid(_REFUSALS[refusal])

    async def _supersede(self, family_id: str, *, channel: str, now: datetime) -> str | None:
        """Spend the login's live refresh token (one live token per login); return its device."""
        if not (1 <= len(family_id) <= 32):
            raise ValueError("family_id must be 1 to 32 characters")
        members = RefreshToken.filter(family_id=family_id)
        if await members.filter(revoked_at__isnull=False).exists():
            raise TokenInvalid(_REFUSALS["revoked"])
        if await members.exclude(channel=channel).exists():
            raise ValueError(f"login family {family_id} belongs to another channel")
        latest = await members.order_by("-id").first()
        await members.filter(used_at=None).update(used_at=now)
        return latest.device_id if latest else None

    async def _check_not_revoked_after_commit(self, family_id: str) -> None:
        if await self._revocations.is_revoked(family_id):
            await RefreshToken.filter(family_id=family_id, revoked_at=None).update(revoked_at=self._clock.now())
            raise TokenInvalid(_REFUSALS["revoked"])

    async def _store_refresh(self, *, person_id: int, channel: str, device_id: str | None, assurance: int,
                             family_id: str, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        await RefreshToken.create(
            token_hash=rules.hash_refresh_token(token), family_id=family_id, person_id=person_id,
            channel=channel, device_id=device_id, assurance=assurance, issued_at=now,
            expires_at=now + timedelta(seconds=self.refresh_ttl))
        return token

    async def _session(self, subject: str, channel: str, level: int, family_id: str, refresh: str,
                       now: datetime) -> IssuedSession:
        claims = rules.access_claims(issuer=self.issuer, subject=subject, channel=channel, assurance=level,
                                     family_id=family_id, token_id=secrets.token_urlsafe(16), now=now,
                                     ttl=self.access_ttl)
        kid, key = await self.keys.signer()
        access = jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid})
        return IssuedSession(access_token=access, refresh_token=refresh, expires_in=self.access_ttl,
                             family_id=family_id, subject=subject)

    # --- verifying --------------------------------------------------------------------------------

    async def verify(self, token: str, *, audience: str) -> AccessClaims:
        """Check signature (ES256 only, key from our ring), iss, aud, times and revocation."""
        if audience not in rules.CHANNEL_OF_AUDIENCE:
            raise ValueError(f"unknown audience {audience!r}")
        if not isinstance(token, str) or token.count(".") != 2 or len(token) > 4096:
            raise TokenInvalid("令牌格式有误")
        if (signed := self._signed.get(token)) is not None:
            kid, payload = signed
            await self.keys.public_key(kid)  # still published: a retired key ends its tokens here too
        else:
            payload = await self._check_signature(token)
        claims = rules.read_claims(payload, now=self._clock.now(), issuer=self.issuer, audience=audience)
        if await self._revocations.is_revoked(claims.family_id):
            raise TokenInvalid(_REFUSALS["revoked"])
        return claims


    async def _check_signature(self, token: str) -> dict:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid("令牌格式有误") from None
        # The algorithm is fixed by us, never taken from the token: this stops "none" and the
        # HS256-signed-with-the-public-key confusion before any key is even looked up.
        if header.get("alg") != ALGORITHM:
            raise TokenInvalid("令牌签名算法不被接受")
        key = await self.keys.public_key(header.get("kid"))
        try:
            payload = jwt.decode(token, key, algorithms=[ALGORITHM], options={
                "verify_exp": False, "verify_nbf": False, "verify_iat": False,  # our clock: read_claims
                "verify_aud": False, "verify_iss": False})
        except jwt.PyJWTError:
            raise TokenInvalid("令牌签名无效") from None
        if len(self._signed) >= MAX_SIGNED_REMEMBERED:
            self._signed.clear()  # rare: tokens live minutes; crude, bounded, never wrong
        self._signed[token] = (header["kid"], payload)
        return payload


async def _survivor(person: Person) -> Person:
    """Follow ``merged_into`` to the person who survived a merge: tokens name the survivor."""
    for _ in range(MAX_MERGE_HOPS):
        if person.merged_into_id is None:
            return person
        person = await Person.get(id=person.merged_into_id)
    raise TokenInvalid("账号合并关系异常，请重新登录")
