"""The outbox's sender for ``node.*`` deliveries: one signed POST to the node's endpoint per try.

Contract (docs/delivery.md): ``POST {endpoint_url}/deliveries``, signed as the hub (GOVHUB-SIG-V1,
X-Gov-Node: govhub), body ``{"delivery_id", "kind", "sent_at", "payload"}``. 2xx is delivered;
connection errors, timeouts, 5xx and 429 are retried by the relay (``Retry-After`` passed on);
any other answer is the node saying no, recorded with the start of its body and parked.

The signing comes from ``SignedNodeClient.build``, but the request is sent here, once: the
client's own retry loop would multiply the relay's schedule, which is the one retry policy.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime

import httpx

from adapters.departments.node_client import SignedNodeClient
from domain.delivery import rules
from domain.delivery.ports import Outgoing, SendResult
from domain.nodes.errors import NodeNotFound
from domain.nodes.service import NodeRecord, NodeRegistry

log = logging.getLogger("govhub.adapters.node_sender")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
NODE_CACHE_SECONDS = 5.0  # an endpoint changed with `govhub nodes set-endpoint` applies within this
EXCERPT_CHARS = 500


class NodeSender:
    def __init__(self, *, nodes: NodeRegistry, client_factory: Callable[..., SignedNodeClient],
                 now: Callable[[], datetime], http: httpx.AsyncClient | None = None) -> None:
        """``client_factory(base_url=..., http=...)`` builds a client signing as the hub (the
        composition root, bff/container.py, provides it)."""
        self._nodes = nodes
        self._factory = client_factory
        self._owns_http = http is None
        # one pool for every node: keep-alive connections make a busy relay cheap
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT,
                                               limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        self._clients: dict[str, SignedNodeClient] = {}
        self._known: dict[str, tuple[float, NodeRecord]] = {}
        self._now = now

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    def forget(self) -> None:
        """Read every node afresh on its next delivery (see ``Hub.forget_memos``)."""
        self._known.clear()

    async def send(self, delivery: Outgoing) -> SendResult:
        try:
            node = await self._node(delivery.target)
        except NodeNotFound:
            return SendResult.rejected(f"node {delivery.target} is not registered")
        if node.status != "active":
            return SendResult.retry(f"node {node.code} is disabled")  # re-enabled: delivered then
        if not node.endpoint_url:
            return SendResult.retry(f"node {node.code} has no endpoint (govhub nodes set-endpoint)")
        body = json.dumps({"delivery_id": str(delivery.id), "kind": delivery.kind,
                           "sent_at": self._now().isoformat(), "payload": delivery.payload},
                          ensure_ascii=False, separators=(",", ":")).encode()
        request = self._client(node.endpoint_url).build("POST", "deliveries", body)
        try:
            response = await self._http.send(request)
        except httpx.TimeoutException as exc:
            return SendResult.retry(f"timeout ({type(exc).__name__})")
        except httpx.TransportError as exc:  # refused, reset, DNS: the node may be restarting
            return SendResult.retry(f"{type(exc).__name__}: {exc}"[:200])
        return _result(response, self._now())

    async def _node(self, code: str) -> NodeRecord:
        cached = self._known.get(code)
        if cached and time.monotonic() - cached[0] < NODE_CACHE_SECONDS:
            return cached[1]
        node = await self._nodes.get(code)
        self._known[code] = (time.monotonic(), node)
        return node

    def _client(self, endpoint_url: str) -> SignedNodeClient:
        client = self._clients.get(endpoint_url)
        if client is None:
            client = self._clients[endpoint_url] = self._factory(base_url=endpoint_url, http=self._http,
                                                                 retry_delays=())
        return client


def _result(response: httpx.Response, now: datetime) -> SendResult:
    status = response.status_code
    outcome = rules.outcome_of_status(status)
    if outcome == rules.OUTCOME_DELIVERED:
        return SendResult.delivered(status)
    if outcome == rules.OUTCOME_RETRY:
        retry_after = rules.parse_retry_after(response.headers.get("Retry-After"), now)
        return SendResult.retry(f"http {status}", status_code=status, retry_after=retry_after)
    log.warning("node refused delivery: http %s from %s", status, response.request.url)
    return SendResult.rejected(f"http {status}", status_code=status, response_excerpt=response.text[:EXCERPT_CHARS])
