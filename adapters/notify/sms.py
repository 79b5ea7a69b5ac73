"""Notification texts through the SMS gateway (the mock's sink by default; the same HTTP contract
as the login codes of adapters/sms/client.py), one attempt per call. Implements
``domain.notifications.ports.SmsGateway``.
"""
from __future__ import annotations

import httpx

from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

SYSTEM = "sms"
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class HttpSmsNotifier:
    def __init__(self, *, base_url: str, http: httpx.AsyncClient | None = None) -> None:
        self._send_url = f"{base_url.rstrip('/')}/send"
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def send_text(self, *, phone: str, text: str, template: str) -> str:
        try:
            response = await self._http.post(self._send_url, json={"phone": phone, "text": text, "template": template})
        except httpx.HTTPError as exc:
            raise UpstreamUnavailable(system=SYSTEM, upstream_code=type(exc).__name__) from exc
        if response.status_code >= 500:
            raise UpstreamUnavailable(system=SYSTEM, upstream_code=f"http-{response.status_code}")
        if response.status_code == 429:
            raise UpstreamRateLimited(system=SYSTEM, upstream_code="http-429")
        if not response.is_success:
            raise UpstreamRejected(system=SYSTEM, upstream_code=f"http-{response.status_code}")
        try:
            return str(response.json().get("message_id", ""))
        except ValueError:
            return ""
