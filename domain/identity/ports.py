"""What identity needs from the outside world. Adapters implement these; tests use the stubs.

Every method raises only the typed errors of ``domain.shared.errors`` / ``domain.identity.errors``:
``UpstreamUnavailable`` (after the adapter's own retries), ``UpstreamRateLimited``,
``LoginCodeInvalid``, ``ChannelUserBlocked``. None of them turns an outage into "no data".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class WeChatSession:
    openid: str
    session_key: str  # never leaves the server
    unionid: str | None = None


@dataclass(frozen=True)
class AlipayGrant:
    user_id: str
    access_token: str
    refresh_token: str
    expires_in: int


class WeChatLogin(Protocol):
    async def code_to_session(self, code: str) -> WeChatSession:
        """``wx.login`` code -> openid/unionid/session_key (``sns/jscode2session``)."""

    async def phone_number(self, code: str) -> str:
        """``getPhoneNumber`` button code -> the user's phone number (``wxa/business/getuserphonenumber``)."""


class AlipayLogin(Protocol):
    async def exchange_auth_code(self, auth_code: str) -> AlipayGrant:
        """``my.getAuthCode`` auth code -> user_id (``alipay.system.oauth.token``)."""


class SmsSender(Protocol):
    async def send_login_code(self, phone: str, code: str) -> None:
        """Deliver a login code. Raises UpstreamUnavailable if the gateway fails."""


@dataclass(frozen=True)
class RealNameCheck:
    matched: bool  # the name and ID number belong together in the population register
    reason: str = ""  # "" | "mismatch" | "not_found" | "deceased"


class RealNameVerifier(Protocol):
    """The public-security verification service (公安部身份核验)."""

    async def verify(self, *, name: str, id_number: str) -> RealNameCheck: ...


@dataclass(frozen=True)
class FaceChallenge:
    provider_session: str  # the id the face provider knows the session by
    sdk_token: str  # handed to the client SDK
    expires_in: int  # seconds


@dataclass(frozen=True)
class FaceOutcome:
    passed: bool
    liveness: bool
    similarity: float  # 0..1 match against the register photo
    reason: str = ""


class FaceVerifier(Protocol):
    """A liveness + match provider. The client SDK runs between ``start`` and ``result``."""

    async def start(self, *, name: str, id_number: str, channel: str) -> FaceChallenge: ...

    async def result(self, provider_session: str) -> FaceOutcome: ...


class SessionRevocations(Protocol):
    """Revoked logins (refresh-token families), seen by every worker at once.

    Access tokens are verified without the database; this store is what makes a logout or a
    detected token theft stop the family's access tokens before they expire. An entry only needs
    to outlive the access tokens already issued, so it is kept ``ttl_seconds`` and then forgotten.
    Raises ``UpstreamUnavailable`` if the store cannot answer: a guard must fail closed.
    """

    async def revoke(self, family_id: str, *, ttl_seconds: int) -> None: ...

    async def is_revoked(self, family_id: str) -> bool: ...
