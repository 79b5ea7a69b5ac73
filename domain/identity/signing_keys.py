"""The keys that sign access tokens: created, rotated, published, and cached per worker.

Private keys (EC P-256) are sealed by the Vault with the kid as associated data; public keys are
stored as JWKs. Every worker keeps the ring of public keys in memory, so verifying a token costs
no database query; it rereads the ring when it meets an unknown kid (a rotation done by another
worker or host), at most every RELOAD_THROTTLE so that forged kids cannot hammer the database.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)
from jwt.algorithms import ECAlgorithm
from tortoise.transactions import in_transaction

from domain.identity import token_rules as rules
from domain.identity.errors import TokenInvalid
from domain.identity.models import SigningKey
from domain.identity.token_rules import ALGORITHM, KeyState
from domain.shared.clock import Clock
from domain.shared.vault import Vault

log = logging.getLogger("govhub.tokens")

RELOAD_THROTTLE = timedelta(seconds=5)  # unknown kids reload the ring at most this often
RING_MAX_AGE = timedelta(minutes=5)  # and the ring is reread this often anyway (retirements)


@dataclass(frozen=True)
class _RingKey:
    state: KeyState
    public_key: ec.EllipticCurvePublicKey


class KeyRing:
    def __init__(self, *, vault: Vault, clock: Clock, overlap_seconds: int) -> None:
        self._vault = vault
        self._clock = clock
        self.overlap_seconds = overlap_seconds
        self._ring: dict[str, _RingKey] = {}
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()
        self._private: dict[str, ec.EllipticCurvePrivateKey] = {}  # unsealed once per worker

    async def ensure(self) -> str:
        """The kid that signs now; creates the first key if there is none."""
        active = rules.signing_key([_state(r) for r in await SigningKey.filter(retired_at=None)])
        return active.kid if active else await self._create()

    async def rotate(self) -> str:
        """A new signing key; every other one is retired (it still verifies for the overlap)."""
        async with in_transaction():
            kid = await self._create()
            retired = await SigningKey.filter(retired_at=None).exclude(kid=kid).update(
                retired_at=self._clock.now())
        await self._load()
        log.info("signing key rotated: new kid %s, %s key(s) retired", kid, retired)
        return kid

    async def jwks(self) -> dict:
        rows = await SigningKey.all()
        shown = rules.published_keys([_state(r) for r in rows], now=self._clock.now(),
                                     overlap_seconds=self.overlap_seconds)
        jwk_of = {r.kid: r.public_jwk for r in rows}
        return {"keys": [jwk_of[k.kid] for k in shown]}

    async def signer(self) -> tuple[str, ec.EllipticCurvePrivateKey]:
        # Read from the database each time (logins are rare next to requests): a rotation by
        # another worker or host takes effect at once, and a retired key never signs.
        kid = await self.ensure()
        if kid not in self._private:
            row = await SigningKey.get(kid=kid)
            pem = self._vault.open(row.private_key_sealed, context=f"signing_key:{kid}")
            self._private[kid] = load_pem_private_key(pem.encode(), password=None)
        return kid, self._private[kid]

    async def public_key(self, kid) -> ec.EllipticCurvePublicKey:
        """The published key named ``kid``; TokenInvalid if there is none."""
        if not isinstance(kid, str) or not kid:
            raise TokenInvalid("令牌缺少密钥标识")
        if self._needs_reload(kid):
            async with self._lock:
                if self._needs_reload(kid):  # another request may have reloaded meanwhile
                    await self._load()
        entry = self._ring.get(kid)
        if entry is None or not rules.is_published(entry.state, now=self._clock.now(),
                                                   overlap_seconds=self.overlap_seconds):
            raise TokenInvalid("令牌签名密钥未知")
        return entry.public_key

    def _needs_reload(self, kid: str) -> bool:
        if self._loaded_at is None:
            return True
        age = self._clock.now() - self._loaded_at
        return age >= RING_MAX_AGE or (kid not in self._ring and age >= RELOAD_THROTTLE)

    async def _load(self) -> None:
        ring = {}
        for row in await SigningKey.all():
            known = self._ring.get(row.kid)  # the kid is derived from the key: no need to reparse
            public = known.public_key if known else ECAlgorithm.from_jwk(row.public_jwk)
            ring[row.kid] = _RingKey(_state(row), public)
        self._ring, self._loaded_at = ring, self._clock.now()

    async def _create(self) -> str:
        private = ec.generate_private_key(ec.SECP256R1())
        public = private.public_key()
        kid = rules.key_id(public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))
        jwk = {**ECAlgorithm.to_jwk(public, as_dict=True), "kid": kid, "alg": ALGORITHM, "use": "sig"}
        pem = private.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
        now = self._clock.now()
        # The kid is bound as associated data: a sealed key cannot be moved to another row.
        await SigningKey.create(kid=kid, alg=ALGORITHM, public_jwk=jwk, created_at=now,
                                private_key_sealed=self._vault.seal(pem, context=f"signing_key:{kid}"))
        self._private[kid] = private
        self._ring[kid] = _RingKey(KeyState(kid, now, None), public)  # we know our own key at once
        return kid


def _state(row: SigningKey) -> KeyState:
    return KeyState(row.kid, rules.as_utc(row.created_at),
                    rules.as_utc(row.retired_at) if row.retired_at else None)
