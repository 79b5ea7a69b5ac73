"""All of the mock's memory: one object per server, cleared by ``POST /_mock/reset``.

The mock runs in a single process, so plain dictionaries are enough. The clock can be moved
forward (``POST /_mock/clock``) so tests can expire codes and tokens without sleeping.
"""

from __future__ import annotations

import secrets
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

CODE_TTL = 300  # wx.login codes and Alipay auth codes live 5 minutes
ACCESS_TOKEN_TTL = 7200


@dataclass
class Fault:
    """The next ``remaining`` calls of one API fail this way."""

    api: str
    remaining: int
    errcode: int | str | None = None
    http_status: int | None = None
    sub_code: str | None = None  # Alipay only
    corrupt_sign: bool = False  # Alipay only: answer normally but with a forged signature

    def describe(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, False)}


@dataclass
class IssuedCode:
    user: str
    expires_at: float


@dataclass
class MockState:
    clock_offset: float = 0.0
    codes: dict[str, dict[str, IssuedCode]] = field(default_factory=lambda: defaultdict(dict))
    access_tokens: dict[str, float] = field(default_factory=dict)  # token -> expiry
    stable_token: str | None = None
    login_calls: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    faults: dict[str, Fault] = field(default_factory=dict)
    sms: dict[str, list[dict]] = field(default_factory=lambda: defaultdict(list))
    messages: list[dict] = field(default_factory=list)
    alipay_refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> user
    alipay_messages: list[dict] = field(default_factory=list)  # notifications: template messages received

    def now(self) -> float:
        return time.time() + self.clock_offset

    # --- single-use codes (wx.login, getPhoneNumber, my.getAuthCode) ---------------------

    def issue_code(self, kind: str, user: str, *, nbytes: int = 24) -> str:
        code = secrets.token_urlsafe(nbytes)
        self.codes[kind][code] = IssuedCode(user, self.now() + CODE_TTL)
        return code

    def peek_code(self, kind: str, code: str) -> str | None:
        """The user a live code belongs to, without using it up."""
        issued = self.codes[kind].get(code)
        if issued is None or issued.expires_at <= self.now():
            return None
        return issued.user

    def redeem_code(self, kind: str, code: str) -> str | None:
        user = self.peek_code(kind, code)
        self.codes[kind].pop(code, None)
        return user

    # --- WeChat access tokens ------------------------------------------------------------

    def issue_access_token(self) -> str:
        token = secrets.token_urlsafe(96)
        self.access_tokens[token] = self.now() + ACCESS_TOKEN_TTL
        return token

    def token_status(self, token: str | None) -> str:
        """'ok', 'missing', 'invalid' or 'expired'."""
        if not token:
            return "missing"
        expiry = self.access_tokens.get(token)
        if expiry is None:
            return "invalid"
        return "ok" if expiry > self.now() else "expired"

    def expires_in(self, token: str) -> int:
        return max(0, int(self.access_tokens.get(token, 0) - self.now()))

    # --- rate limit: WeChat allows 100 jscode2session calls per minute per user ----------

    def count_login_call(self, user: str) -> int:
        calls, now = self.login_calls[user], self.now()
        calls.append(now)
        while calls and calls[0] <= now - 60:
            calls.popleft()
        return len(calls)

    # --- fault injection -----------------------------------------------------------------

    def take_fault(self, api: str) -> Fault | None:
        fault = self.faults.get(api)
        if fault is None:
            return None
        fault.remaining -= 1
        if fault.remaining <= 0:
            del self.faults[api]
        return fault
