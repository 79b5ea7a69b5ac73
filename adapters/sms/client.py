"""Login codes by SMS through an HTTP gateway (the mock's sink by default).

The text follows the rules carriers enforce on verification SMS: the registered signature in
【】 first, the code, how long it lasts, and a warning not to share it.
"""

from __future__ import annotations

import asyncio
import logging

import httpx

from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

logger = logging.getLogger("govhub.adapters.sms")

SYSTEM = "sms"
DEFAULT_BASE_URL = "http://127.0.0.1:8001/_mock/sms"
LOGIN_TEMPLATE = "login_code"
LOGIN_TEXT = "【国家政务服务平台】您的验证码是{code}，5分钟内有效。请勿泄露。"
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class _Transient(Exception):
    pass


class HttpSmsSender:
    """Implements ``domain.identity.ports.SmsSender``."""

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        retry_delay: float = 0.2,
    ) -> None:
        self._send_url = f"{base_url.rstrip('/')}/send"
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._retry_delay = retry_delay

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def send_login_code(self, phone: str, code: str) -> None:
        message = {
            "phone": phone,
            "text": LOGIN_TEXT.format(code=code),
            "template": LOGIN_TEMPLATE,
            "code": code,
        }
        # One retry only: a code that arrives a minute late is useless, the citizen asks again.
        for delay in (self._retry_delay, None):
            try:
                return await self._post(message)
            except _Transient as exc:
                if delay is None:
                    logger.error("sms to %s****%s failed: %s", phone[:3], phone[-4:], exc)
                    raise UpstreamUnavailable(system=SYSTEM, upstream_code=str(exc)) from exc
                await asyncio.sleep(delay)

    async def _post(self, message: dict) -> None:
        try:
            response = await self._http.post(self._send_url, json=message)
        except httpx.HTTPError as exc:
            raise _Transient(type(exc).__name__) from exc
        if response.status_code >= 500:
            raise _Transient(f"http {response.status_code}")
        if response.status_code == 429:
            raise UpstreamRateLimited(system=SYSTEM, upstream_code="http-429")
        if not response.is_success:
            raise UpstreamRejected(system=SYSTEM, upstream_code=f"http-{response.status_code}")
