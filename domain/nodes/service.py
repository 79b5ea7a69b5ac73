"""Machine identities (节点): the registry of departments and provinces, and the check of every
signed ``/gov/v1`` request against it (scheme: ``domain/nodes/signatures.py``)."""
from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives.asymmetric import ec
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from domain.nodes import rules, signatures
from domain.nodes.errors import (
    NodeDisabled,
    NodeExists,
    NodeHeadersInvalid,
    NodeHeadersMissing,
    NodeInvalid,
    NodeNonceReplayed,
    NodeNotFound,
    NodeSignatureInvalid,
    NodeTimestampStale,
    NodeUnknown,
)
from domain.nodes.models import Node
from domain.nodes.ports import NonceStore
from domain.shared.clock import Clock

log = logging.getLogger("govhub.nodes")


@dataclass(frozen=True)
class NodeIdentity:
    """Who signed a request, as the hub knows it."""

    code: str
    kind: str
    name: str
    region_code: str


@dataclass(frozen=True)
class NodeRecord:
    code: str
    kind: str
    name: str
    region_code: str
    status: str
    public_key_pem: str
    key_id: str
    created_at: datetime
    updated_at: datetime
    endpoint_url: str | None = None  # where the hub delivers to the node (docs/delivery.md)


@dataclass(frozen=True)
class HubKey:
    """What the hub publishes so that nodes can check its calls."""

    node_code: str
    key_id: str
    public_key_pem: str
    algorithm: str = signatures.ALGORITHM
    scheme: str = signatures.SCHEME


def hub_key(private_key_pem: bytes, node_code: str = rules.HUB_NODE_CODE) -> HubKey:
    public = signatures.load_private_key(private_key_pem).public_key()
    return HubKey(node_code=node_code, key_id=signatures.key_id(public),
                  public_key_pem=signatures.public_key_pem(public))


@dataclass(frozen=True)
class _SignedHeaders:
    node: str
    timestamp: str
    nonce: str
    signature: str


class NodeRegistry:
    def __init__(self, clock: Clock, nonces: NonceStore, *,
                 window_seconds: int = rules.WINDOW_SECONDS) -> None:
        self._clock = clock
        self._nonces = nonces
        self._window = window_seconds

    # --- the registry ----------------------------------------------------------------------

    async def register(self, *, code: str, kind: str, name: str, region_code: str,
                       public_key_pem: str | bytes, endpoint_url: str | None = None) -> NodeRecord:
        problems = rules.registration_problems(code=code, kind=kind, name=name, region_code=region_code)
        if endpoint_url is not None:
            problems += rules.endpoint_problems(endpoint_url)
        try:
            pem = signatures.public_key_pem(signatures.load_public_key(public_key_pem))
        except (ValueError, TypeError):
            pem = ""
            problems.append({"field": "public_key_pem", "message": "应为PEM格式的EC P-256公钥"})
        if problems:
            raise NodeInvalid("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)
        if await Node.exists(code=code):
            raise NodeExists(f"节点编码 {code} 已被登记")
        try:
            node = await Node.create(code=code, kind=kind, name=name.strip(), region_code=region_code,
                                     public_key=pem, status="active",
                                     endpoint_url=rules.normalized_endpoint(endpoint_url))
        except IntegrityError as exc:  # registered by someone else between the check and the insert
            raise NodeExists(f"节点编码 {code} 已被登记") from exc
        log.info("node registered: %s (%s, %s)", code, kind, region_code)
        return _record(node)

    async def set_status(self, *, code: str, status: str) -> NodeRecord:
        if status not in rules.STATUSES:
            raise NodeInvalid("状态应为 active 或 disabled",
                              errors=[{"field": "status", "message": "应为 active 或 disabled"}])
        node = await self._node(code)
        node.status = status
        await node.save(update_fields=["status", "updated_at"])
        log.info("node %s is now %s", code, status)
        return _record(node)

    async def set_endpoint(self, *, code: str, endpoint_url: str | None) -> NodeRecord:
        """Where the hub delivers to this node (``None``: nowhere; the node only calls the hub)."""
        problems = rules.endpoint_problems(endpoint_url) if endpoint_url is not None else []
        if problems:
            raise NodeInvalid("投递地址有误", errors=problems)
        node = await self._node(code)
        node.endpoint_url = rules.normalized_endpoint(endpoint_url)
        await node.save(update_fields=["endpoint_url", "updated_at"])
        log.info("node %s delivers to %s", code, node.endpoint_url)
        return _record(node)

    async def endpoint(self, code: str) -> str | None:
        """The node's delivery endpoint; NodeNotFound if there is no such node."""
        return (await self._node(code)).endpoint_url

    async def get(self, code: str) -> NodeRecord:
        return _record(await self._node(code))

    async def list(self) -> list[NodeRecord]:
        return [_record(node) for node in await Node.all().order_by("code")]

    async def code_or_province(self, *, code: str, province_region: str | None) -> list[NodeRecord]:
        """The node ``code`` and the provincial platforms of ``province_region``: all that can handle
        one matter (domain.applications.rules.handling_node), without reading the whole registry."""
        wanted = Q(code=code) | Q(kind="province", region_code=province_region) if province_region else Q(code=code)
        return [_record(node) for node in await Node.filter(wanted).order_by("code")]

    async def _node(self, code: str) -> Node:
        node = await Node.get_or_none(code=code) if isinstance(code, str) else None
        if node is None:
            raise NodeNotFound(f"节点 {code} 不存在")
        return node

    # --- signed requests -------------------------------------------------------------------

    async def authenticate(self, *, method: str, path: str, query_string: str, headers: Mapping[str, str],
                           body: bytes) -> NodeIdentity:
        """Who signed this request, or a NodeAuthError. The nonce is claimed last, once the
        signature holds: a forger who cannot sign cannot burn a real node's nonces either."""
        signed = _read_headers(headers)
        node = await Node.get_or_none(code=signed.node)
        if node is None:
            raise NodeUnknown(f"节点 {signed.node} 未在平台登记")
        if not rules.may_authenticate(node.status):
            raise NodeDisabled(f"节点 {signed.node} 已停用")
        now = self._clock.now().timestamp()
        if not rules.timestamp_fresh(int(signed.timestamp), now, self._window):
            raise NodeTimestampStale(f"请求时间与平台时间相差超过{self._window}秒", server_time=int(now))
        message = signatures.string_to_sign(node=signed.node, method=method, path=path,
                                            query_string=query_string, timestamp=signed.timestamp,
                                            nonce=signed.nonce, body=body)
        if not signatures.verify(_public_key(node.public_key), message, signed.signature):
            log.warning("node %s: signature does not verify (%s %s)", signed.node, method, path)
            # The string the hub expected: built only from what the caller sent, and the fastest
            # way for a node's developer to find which line their signer gets wrong.
            raise NodeSignatureInvalid("签名与平台计算的待签字符串不符", string_to_sign=message)
        if not await self._nonces.claim(signed.node, signed.nonce, rules.nonce_ttl(self._window)):
            log.warning("node %s: nonce replayed (%s %s)", signed.node, method, path)
            raise NodeNonceReplayed("该随机数已被使用，每个请求须使用新的 X-Gov-Nonce")
        return NodeIdentity(code=node.code, kind=node.kind, name=node.name, region_code=node.region_code)


def _read_headers(headers: Mapping[str, str]) -> _SignedHeaders:
    lowered = {name.lower(): value for name, value in headers.items()}
    values = [lowered.get(name.lower(), "") for name in signatures.HEADERS]
    missing = [name for name, value in zip(signatures.HEADERS, values, strict=True) if not value]
    if missing:
        raise NodeHeadersMissing("缺少请求头：" + "、".join(missing), missing=missing)
    signed = _SignedHeaders(*values)
    checks = [(signatures.HEADER_NODE, rules.is_node_code(signed.node)),
              (signatures.HEADER_TIMESTAMP, rules.is_timestamp(signed.timestamp)),
              (signatures.HEADER_NONCE, rules.is_nonce(signed.nonce)),
              (signatures.HEADER_SIGNATURE, rules.is_signature_text(signed.signature))]
    invalid = [name for name, ok in checks if not ok]
    if invalid:
        raise NodeHeadersInvalid("请求头格式有误：" + "、".join(invalid), invalid=invalid)
    return signed


@functools.lru_cache(maxsize=1024)
def _public_key(pem: str) -> ec.EllipticCurvePublicKey:
    """Parsed once per key, not once per request (keyed by the PEM, so a new key is a new entry)."""
    return signatures.load_public_key(pem)


def _record(node: Node) -> NodeRecord:
    public = _public_key(node.public_key)
    return NodeRecord(code=node.code, kind=node.kind, name=node.name, region_code=node.region_code,
                      status=node.status, public_key_pem=node.public_key, key_id=signatures.key_id(public),
                      created_at=node.created_at, updated_at=node.updated_at, endpoint_url=node.endpoint_url)
