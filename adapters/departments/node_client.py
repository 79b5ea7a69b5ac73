"""The hub calling a node (a department or a provincial platform), signed with the hub's node key.

It signs exactly as nodes sign their calls to the hub (GOVHUB-SIG-V1, ``domain/nodes/signatures.py``)
under the code ``govhub``; nodes check it with the key published at ``GET /gov/v1/hub-key``.
Connection errors, 5xx and 429 are retried (GOV.UK Notify's rule); every attempt is signed afresh,
since a nonce is good once and the timestamp ages. Another 4xx is the node saying no: not retried.
"""
from __future__ import annotations

import asyncio
import json as jsonlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from domain.nodes import signatures
from domain.nodes.rules import HUB_NODE_CODE
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

logger = logging.getLogger("govhub.adapters.nodes")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
DEFAULT_RETRY_DELAYS = (0.5, 2.0, 5.0)


class _Transient(Exception):
    """Worth another try: unreachable, 5xx or 429."""

    def __init__(self, reason: str, *, rate_limited: bool = False) -> None:
        super().__init__(reason)
        self.rate_limited = rate_limited


def _json_bytes(value: Any) -> bytes:
    if value is None:
        return b""
    return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class SignedNodeClient:
    def __init__(
        self,
        *,
        base_url: str,
        hub_node_code: str = HUB_NODE_CODE,
        private_key_pem: bytes,
        http: httpx.AsyncClient | None = None,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._system = f"node:{urlsplit(base_url).netloc}"
        self._node = hub_node_code
        self._key = signatures.load_private_key(private_key_pem)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._retry_delays = tuple(retry_delays)
        self._now = now

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> SignedNodeClient:
        return self

    async def __aexit__(self, *exc_info) -> None:
        await self.aclose()

    async def request(self, method: str, path: str, json: Any = None) -> httpx.Response:
        """``path`` is joined to ``base_url`` and may carry a query. Returns any 2xx/3xx answer;
        raises UpstreamRejected (4xx), UpstreamRateLimited or UpstreamUnavailable (after retries)."""
        body = _json_bytes(json)
        for delay in (*self._retry_delays, None):
            try:
                return await self._attempt(method, path, body)
            except _Transient as exc:
                if delay is None:
                    logger.error("%s %s %s still failing after retries: %s", self._system, method, path, exc)
                    error = UpstreamRateLimited if exc.rate_limited else UpstreamUnavailable
                    raise error(f"{method} {path}: {exc}", system=self._system,
                                upstream_code=str(exc)) from exc
                logger.info("%s %s %s failed (%s), retrying in %.1f s",
                            self._system, method, path, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    def build(self, method: str, path: str, body: bytes = b"") -> httpx.Request:
        """The signed request, not sent. The signature covers the path as it will travel on the
        wire, so it is taken from the built request, after httpx has encoded the URL."""
        headers = {"Content-Type": "application/json"} if body else {}
        request = self._http.build_request(method, f"{self._base_url}/{path.lstrip('/')}",
                                           content=body, headers=headers)
        wire_path, _, query = request.url.raw_path.decode("ascii").partition("?")
        request.headers.update(signatures.signed_headers(
            private_key=self._key, node=self._node, method=request.method, path=wire_path,
            query_string=query, body=body, timestamp=int(self._now())))
        return request

    async def _attempt(self, method: str, path: str, body: bytes) -> httpx.Response:
        try:
            response = await self._http.send(self.build(method, path, body))
        except httpx.TransportError as exc:  # refused, reset, timed out: the node may be restarting
            raise _Transient(type(exc).__name__) from exc
        if response.status_code == 429:
            raise _Transient("http 429", rate_limited=True)
        if response.status_code >= 500:
            raise _Transient(f"http {response.status_code}")
        if response.status_code >= 400:
            logger.warning("%s refused %s %s: http %s", self._system, method, path, response.status_code)
            raise UpstreamRejected(f"{method} {path}: http {response.status_code}", system=self._system,
                                   upstream_code=f"http-{response.status_code}")
        return response
