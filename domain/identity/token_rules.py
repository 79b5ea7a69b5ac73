"""Pure rules of access and refresh tokens: no I/O, no clock of their own, no keys.

Which audience a channel gets, how assurance levels are spelled, which claims an access token
carries and what makes a presented one acceptable, which signing keys are published and which one
signs, and why a refresh token is refused. ``tokens.py`` does the I/O around these decisions.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from domain.identity.errors import TokenInvalid

ALGORITHM = "ES256"  # the only one accepted: never "none", never HS*, never taken from the token
CHANNELS = ("wechat", "alipay", "app")
AUDIENCE_OF_CHANNEL = {"wechat": "govhub-wechat", "alipay": "govhub-alipay", "app": "govhub-app"}
CHANNEL_OF_AUDIENCE = {aud: channel for channel, aud in AUDIENCE_OF_CHANNEL.items()}
# L1: logged in through a channel (WeChat, Alipay, SMS); L2: real name checked against the
# public-security register; L3: L2 plus a face verification.
ACR_VALUES = ("L1", "L2", "L3")
REQUIRED_CLAIMS = ("iss", "aud", "sub", "acr", "sid", "iat", "nbf", "exp", "jti")
DEVICE_BOUND_CHANNELS = frozenset({"app"})  # a stolen refresh token must not work elsewhere
# Refusals that prove a refresh token leaked: the whole family (the login) is revoked.
LEAK_REFUSALS = frozenset({"reused", "wrong_device"})


@dataclass(frozen=True)
class AccessClaims:
    """What a verified access token says: who, how sure, which login, which channel, until when."""

    subject: str  # Person.public_id
    assurance: int  # 1..3
    family_id: str  # the refresh-token family: one login
    channel: str
    expires_at: datetime
    token_id: str


@dataclass(frozen=True)
class KeyState:
    """A signing key as far as the rules care: when it was made and when it stopped signing."""

    kid: str
    created_at: datetime
    retired_at: datetime | None


def audience_of(channel: str) -> str:
    try:
        return AUDIENCE_OF_CHANNEL[channel]
    except KeyError:
        raise ValueError(f"unknown channel {channel!r}; expected one of {CHANNELS}") from None


def acr_of(level: int) -> str:
    if isinstance(level, bool) or level not in (1, 2, 3):
        raise ValueError(f"assurance level must be 1, 2 or 3, not {level!r}")
    return f"L{level}"


def level_of(acr: str | int) -> int:
    """``"L2"`` -> 2; an int is checked and passed through (routes may say either)."""
    if isinstance(acr, int) and not isinstance(acr, bool):
        acr_of(acr)
        return acr
    if acr not in ACR_VALUES:
        raise ValueError(f"acr must be one of {ACR_VALUES}, not {acr!r}")
    return int(acr[1])


def key_id(public_key_der: bytes) -> str:
    """base64url of the first 8 bytes of SHA-256 over the SubjectPublicKeyInfo DER (as the EU
    DCC trust lists do): derived from the key, so every host computes the same kid."""
    digest = hashlib.sha256(public_key_der).digest()[:8]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are stored as SHA-256: a database leak gives nobody a usable token.
    (High-entropy random values need no salt or slow hash.)"""
    return hashlib.sha256(token.encode()).hexdigest()


def access_claims(*, issuer: str, subject: str, channel: str, assurance: int, family_id: str,
                  token_id: str, now: datetime, ttl: int) -> dict:
    issued = int(now.timestamp())
    return {"iss": issuer, "aud": audience_of(channel), "sub": subject, "acr": acr_of(assurance),
            "sid": family_id, "iat": issued, "nbf": issued, "exp": issued + ttl, "jti": token_id}


def check_overlap(*, overlap_seconds: int, access_ttl: int) -> None:
    """A retired key must stay published longer than the tokens it signed live."""
    if overlap_seconds <= access_ttl:
        raise ValueError(f"the JWKS overlap ({overlap_seconds}s) must exceed the access-token "
                         f"lifetime ({access_ttl}s), or tokens signed before a rotation stop verifying")


def is_published(key: KeyState, *, now: datetime, overlap_seconds: int) -> bool:
    if key.retired_at is None:
        return True
    return now - as_utc(key.retired_at) <= timedelta(seconds=overlap_seconds)


def published_keys(keys: list[KeyState], *, now: datetime, overlap_seconds: int) -> list[KeyState]:
    """Every key not retired, or retired within the overlap window; newest first."""
    shown = [k for k in keys if is_published(k, now=now, overlap_seconds=overlap_seconds)]
    return sorted(shown, key=lambda k: (as_utc(k.created_at), k.kid), reverse=True)


def signing_key(keys: list[KeyState]) -> KeyState | None:
    """The newest key not retired signs; a retired key never signs. (Two active keys can exist
    after concurrent first starts; all of them verify, the newest signs, deterministically.)"""
    active = [k for k in keys if k.retired_at is None]
    return max(active, key=lambda k: (as_utc(k.created_at), k.kid), default=None)


def read_claims(payload: dict, *, now: datetime, issuer: str, audience: str) -> AccessClaims:
    """Check a signature-verified payload and turn it into AccessClaims; raise TokenInvalid.

    Times are checked here against the domain clock, not by the JWT library's wall clock, so
    tests move time instead of sleeping. No leeway: the hub verifies tokens it issued itself."""
    missing = [c for c in REQUIRED_CLAIMS if c not in payload]
    if missing:
        raise TokenInvalid(f"令牌缺少声明：{', '.join(missing)}")
    if payload["iss"] != issuer:
        raise TokenInvalid("令牌签发方不符")
    if not isinstance(payload["aud"], str) or payload["aud"] != audience:
        raise TokenInvalid("令牌不适用于该渠道")
    stamp = now.timestamp()
    iat, nbf, exp = (_int_claim(payload, name) for name in ("iat", "nbf", "exp"))
    if nbf > stamp or iat > stamp:
        raise TokenInvalid("令牌尚未生效")
    if exp <= stamp:
        raise TokenInvalid("令牌已过期")
    for name in ("sub", "sid", "jti"):
        if not isinstance(payload[name], str) or not payload[name]:
            raise TokenInvalid(f"令牌声明 {name} 无效")
    try:
        assurance = level_of(payload["acr"])
    except ValueError:
        raise TokenInvalid("令牌声明 acr 无效") from None
    return AccessClaims(subject=payload["sub"], assurance=assurance, family_id=payload["sid"],
                        channel=CHANNEL_OF_AUDIENCE[audience], token_id=payload["jti"],
                        expires_at=datetime.fromtimestamp(exp, UTC))


def refresh_refusal(*, revoked: bool, used: bool, expires_at: datetime, bound_channel: str,
                    bound_device: str | None, now: datetime, channel: str,
                    device_id: str | None) -> str | None:
    """Why a presented refresh token is refused, or None. The order matters: a spent token is
    reported as reuse whatever else is wrong with it, because reuse means it leaked."""
    if revoked:
        return "revoked"
    if used:
        return "reused"
    if as_utc(expires_at) <= now:
        return "expired"
    if channel != bound_channel:
        return "wrong_channel"
    if bound_device is not None and device_id != bound_device:
        return "wrong_device"
    return None


def as_utc(moment: datetime) -> datetime:
    """Databases may hand back naive datetimes; they are stored in UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _int_claim(payload: dict, name: str) -> int:
    # Integers only (as the hub issues them): a float could be NaN, which compares false both ways.
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int):
        raise TokenInvalid(f"令牌声明 {name} 无效")
    return value
