"""The exchange's way to a provider node (data sharing): the consumer's call, forwarded and signed
by the hub (GOVHUB-SIG-V1 under the code ``govhub``, as every hub call to a node).

Never retried: a read the consumer asked for once is made once (the consumer retries if it wants,
and its retry is a new, logged call). Never a hang: a provider that does not answer within the
timeout is ``ProviderTimeout`` (504), one that refuses or resets ``ProviderUnavailable`` (502).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from domain.nodes import signatures
from domain.nodes.rules import HUB_NODE_CODE
from domain.sharing.errors import ProviderTimeout, ProviderUnavailable
from domain.sharing.ports import ProviderAnswer, ProviderCall

MAX_ANSWER_BYTES = 10 * 1024 * 1024


class SignedProviderGateway:
    def __init__(self, *, private_key_pem: bytes, now: Callable[[], datetime], timeout_seconds: float = 10.0,
                 http: httpx.AsyncClient | None = None) -> None:
        self._key = signatures.load_private_key(private_key_pem)
        self._now = now
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=httpx.Timeout(timeout_seconds, connect=min(3.0, timeout_seconds)),
                                               limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
                                               follow_redirects=False)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def call(self, call: ProviderCall) -> ProviderAnswer:
        request = self.build(call)
        sent_at = self._now()
        try:
            response = await self._http.send(request, stream=True)
            try:
                body = await _read_capped(response)
            finally:
                await response.aclose()
        except httpx.TimeoutException as exc:
            raise ProviderTimeout("数据提供方系统响应超时") from exc
        except (httpx.TransportError, _TooLarge) as exc:
            raise ProviderUnavailable(f"数据提供方系统不可用（{type(exc).__name__}）") from exc
        return ProviderAnswer(status=response.status_code, content_type=response.headers.get("content-type", ""),
                              body=body, sent_at=sent_at, received_at=self._now())

    def build(self, call: ProviderCall) -> httpx.Request:
        """The signed request; the signature covers the path as it travels, taken from the built URL."""
        url = f"{call.endpoint.rstrip('/')}/services/{call.service_code}{call.path if call.path != '/' else ''}"
        if call.query:
            url += f"?{call.query}"
        request = self._http.build_request(call.method, url, content=call.body, headers=dict(call.headers))
        wire_path, _, query = request.url.raw_path.decode("ascii").partition("?")
        request.headers.update(signatures.signed_headers(
            private_key=self._key, node=HUB_NODE_CODE, method=request.method, path=wire_path, query_string=query,
            body=call.body, timestamp=int(self._now().timestamp())))
        return request


class _TooLarge(Exception):
    pass


async def _read_capped(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            raise _TooLarge(f"answer over {MAX_ANSWER_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
