"""The hub asking a region that keeps its own health-code key to sign a code (``RegionSigner``).

The contract (docs/health-codes.md; ``domain/health/ports.py``): ``POST {endpoint_url}/health/sign``
signed as the hub (GOVHUB-SIG-V1), body::

    {"kid": "<16 hex>", "alg": "ES256" | "PS256" | "SM2-SM3",
     "protected": "<base64 of the protected header>", "payload": "<base64 of the CWT>",
     "health_pass": {...}}

answer ``{"signature": "<base64 of the raw COSE signature>"}``. The region sees what it signs
(the bytes) *and* what it means (the pass as JSON), and refuses what it did not decide.

- no endpoint (or no such node), unreachable, timed out, 5xx, 429 → ``UpstreamUnavailable``;
- a 4xx → ``UpstreamRejected``: the region refuses to sign this;
- an answer we cannot read (not JSON, no signature, not base64, not 64 bytes for ES256 and
  SM2-SM3) → ``UpstreamUnavailable``.

A citizen is waiting for the code: a short timeout and one quick retry, as the fund-centre client
(``adapters/departments/fund_centre_client.py``). Whether the signature verifies with the key's
certificate is the hub's own check (the caller's), not this adapter's.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Any

import httpx

from adapters.departments.node_client import SignedNodeClient
from domain.health.hcert import COSE_ALGORITHMS, ES256, SM2_SM3
from domain.nodes.errors import NodeNotFound
from domain.nodes.service import NodeRegistry
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

TIMEOUT = httpx.Timeout(5.0, connect=2.0)  # a citizen is waiting: one quick retry, then "unreachable"
RAW_SIGNATURE_BYTES = {ES256: 64, SM2_SM3: 64}  # r || s, 32 bytes each


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class HttpRegionSigner:
    def __init__(self, *, nodes: NodeRegistry, client_factory: Callable[..., SignedNodeClient],
                 retry_delays: tuple[float, ...] = (0.3,)) -> None:
        self._nodes, self._factory, self._retry_delays = nodes, client_factory, retry_delays

    async def sign(self, *, node_code: str, kid_hex: str, alg: str, protected: bytes, payload: bytes,
                   health_pass: dict[str, Any]) -> bytes:
        if alg not in COSE_ALGORITHMS:
            raise ValueError(f"unknown algorithm {alg!r}; use one of {sorted(COSE_ALGORITHMS)}")
        try:
            endpoint = (await self._nodes.get(node_code)).endpoint_url
        except NodeNotFound:
            endpoint = None
        if not endpoint:
            raise UpstreamUnavailable(f"region {node_code} has no endpoint", system=node_code)
        body = {"kid": kid_hex, "alg": alg, "protected": _b64(protected), "payload": _b64(payload),
                "health_pass": health_pass}
        try:
            # a client per code: nothing is left open at shutdown
            async with httpx.AsyncClient(timeout=TIMEOUT) as http:
                client = self._factory(base_url=endpoint, http=http, retry_delays=self._retry_delays)
                answer = await client.request("POST", "health/sign", json=body)
        except UpstreamRejected as refused:  # the region understood and said no: never retried
            raise UpstreamRejected(f"region {node_code} refused to sign: {refused}", system=node_code,
                                   upstream_code=refused.upstream_code) from refused
        except UpstreamRateLimited as busy:  # busy after the retry is unavailable, for a citizen
            raise UpstreamUnavailable(f"region {node_code}: {busy}", system=node_code,
                                      upstream_code=busy.upstream_code) from busy
        except UpstreamUnavailable as down:
            raise UpstreamUnavailable(f"region {node_code}: {down}", system=node_code,
                                      upstream_code=down.upstream_code) from down
        return _signature(node_code, alg, answer)


def _signature(node_code: str, alg: str, answer: httpx.Response) -> bytes:
    try:
        encoded = answer.json()["signature"]
        if not isinstance(encoded, str):
            raise TypeError("signature is not a string")
        signature = base64.b64decode(encoded, validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as error:
        raise UpstreamUnavailable(f"region {node_code}: unreadable answer ({error})", system=node_code,
                                  upstream_code="unreadable") from error
    expected = RAW_SIGNATURE_BYTES.get(alg)
    if not signature or (expected is not None and len(signature) != expected):
        raise UpstreamUnavailable(f"region {node_code}: a {alg} signature of {len(signature)} bytes",
                                  system=node_code, upstream_code="unreadable")
    return signature
