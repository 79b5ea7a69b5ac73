"""The exchange (数据交换): a consumer node's call to a provider's data service, through the hub,
in the shape of X-Road's message protocol for REST.

One guard for every byte that crosses: the signer must be the ``X-Road-Client``; a grant must let
this client call this service, method and path now; the grant's quota must have a token; the
message log must be able to prove the call (time-stamping healthy). Then the hub forwards a
request it signs itself, cuts the answer down to the granted fields, records the call in the
message log (and in the data subject's tracker) and answers with ``X-Road-Request-Id`` and
``X-Road-Request-Hash``. A refusal is recorded too, with its code as the fault.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs

from domain.shared.clock import Clock
from domain.shared.errors import DomainError
from domain.shared.memo import Memo
from domain.sharing import rules
from domain.sharing.catalog import ServiceCatalog, ServiceView
from domain.sharing.errors import (
    ClientMismatch,
    GrantRequired,
    MessageLogUnavailable,
    ProviderAnswerInvalid,
    ProviderUnavailable,
    ServiceNotFound,
)
from domain.sharing.grants import Grants, GrantView, fields_of, operations_of, take_quota
from domain.sharing.message_log import MessageLog, Record, digest
from domain.sharing.ports import ProviderAnswer, ProviderCall, ProviderGateway, QuotaBucket
from domain.sharing.tracker import DataUses

JSON = "application/json; charset=utf-8"
ENDPOINT_SECONDS = 5.0
PASSED_HEADERS = ("content-type", "accept", "x-road-userid", "x-road-issue")
# What of a provider's refusal (4xx/5xx) may reach the consumer: a problem's own words, no data.
PROBLEM_KEYS = frozenset({"type", "title", "status", "detail", "code"})


@dataclass(frozen=True)
class ExchangeRequest:
    node: str  # who signed the request (bff/gov/auth)
    method: str
    raw_path: str  # /r1/..., as received (still percent-encoded)
    query: str  # the raw query string
    headers: Mapping[str, str]
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class ExchangeAnswer:
    status: int
    content_type: str
    body: bytes
    headers: dict[str, str]  # X-Road-Client, -Service, -Id, -Request-Id, -Request-Hash


class Exchange:
    def __init__(self, *, clock: Clock, catalog: ServiceCatalog, grants: Grants, log: MessageLog,
                 uses: DataUses, gateway: ProviderGateway, quota: QuotaBucket, nodes) -> None:
        """``nodes``: the node registry (provider endpoints)."""
        self.clock, self.catalog, self.grants, self.log, self.uses = clock, catalog, grants, log, uses
        self.gateway, self.quota, self.nodes = gateway, quota, nodes
        # a provider's address changes rarely and is read on every call: a few seconds' memory
        self._endpoints: Memo[str, str | None] = Memo(seconds=ENDPOINT_SECONDS)

    async def call(self, request: ExchangeRequest) -> ExchangeAnswer:
        headers = {k.lower(): v for k, v in request.headers.items()}
        target = request.raw_path + (f"?{request.query}" if request.query else "")
        trace = _Trace(request, headers, message_id=headers.get("x-road-id") or str(uuid.uuid4()),
                       request_id=uuid.uuid4().hex,
                       request_hash=rules.request_hash(method=request.method, target=target, headers=headers,
                                                       body=request.body))
        try:
            answer = await self._cross(request, headers, trace)
        except DomainError as refusal:
            await self._record(trace, fault=refusal.code)
            raise _with_ids(refusal, trace)
        return answer

    def forget(self) -> None:
        self._endpoints.clear()

    async def _cross(self, request: ExchangeRequest, headers: dict[str, str], trace: _Trace) -> ExchangeAnswer:
        service_id, rest = rules.parse_service_path(request.raw_path)
        trace.service = str(service_id)
        client = rules.parse_client(headers.get("x-road-client"))
        trace.client = str(client)
        if (client.instance, client.member_class, client.member_code) != (rules.INSTANCE, rules.MEMBER_CLASS,
                                                                          request.node):
            raise ClientMismatch(f"X-Road-Client 应为 {rules.INSTANCE}/{rules.MEMBER_CLASS}/{request.node}[/子系统]")
        service = await self._service(service_id)
        trace.provider, trace.service_title = service.provider, service.title
        if not await self.log.is_open():
            raise MessageLogUnavailable("消息日志时间戳服务异常超过允许时长，为保证每次交换可追溯，暂停新的交换请求")
        grant = await self.grants.usable(consumer=request.node, provider=service.provider, service_code=service.code)
        if grant is None:
            raise GrantRequired(f"节点 {request.node} 没有调用 {service_id} 的有效授权")
        trace.grant = grant
        params = rules.match_operation(operations_of(grant, service.operations), request.method, rest)
        if params is None:
            raise GrantRequired(f"授权不包含 {request.method.upper()} {rest}")
        await take_quota(self.quota, grant, f"授权 {grant.id} 每分钟最多调用 {grant.quota_per_minute} 次")
        trace.subject = rules.subject_of(service.subject, params=params, query=parse_qs(request.query),
                                         body=_json_or_none(request.body))
        trace.subject_kind = service.subject.kind if service.subject else None
        answer = await self._forward(request, headers, service, rest, trace)
        body, content_type = self._filtered(answer, fields_of(grant), trace)
        trace.response_out = self.clock.now()
        await self._record(trace, fault=None, response=body, status=answer.status)
        return ExchangeAnswer(status=answer.status, content_type=content_type, body=body, headers=trace.headers())

    async def _service(self, service_id: rules.ServiceId) -> ServiceView:
        if (service_id.instance, service_id.member_class) != (rules.INSTANCE, rules.MEMBER_CLASS):
            raise ServiceNotFound(f"数据服务 {service_id} 不在本平台")
        service = await self.catalog.serving_terms(service_id.member_code, service_id.service_code)
        if service is None or service.subsystem != service_id.subsystem or service.provider == rules.HUB_PROVIDER:
            raise ServiceNotFound(f"数据服务 {service_id} 不存在或已下线")
        return service

    async def _forward(self, request: ExchangeRequest, headers: dict[str, str], service: ServiceView, rest: str,
                       trace: _Trace) -> ProviderAnswer:
        endpoint = await self._endpoints.get(service.provider, lambda: self.nodes.endpoint(service.provider))
        if not endpoint:
            raise ProviderUnavailable(f"数据提供方 {service.provider} 未登记服务地址")
        passed = {k: v for k, v in headers.items() if k in PASSED_HEADERS}
        passed.update({"x-road-client": trace.client, "x-road-service": trace.service, "x-road-id": trace.message_id})
        answer = await self.gateway.call(ProviderCall(
            endpoint=endpoint, service_code=service.code, method=request.method.upper(), path=rest,
            query=request.query, headers=passed, body=request.body))
        trace.request_out, trace.response_in = answer.sent_at, answer.received_at
        return answer

    def _filtered(self, answer: ProviderAnswer, granted: frozenset[str], trace: _Trace) -> tuple[bytes, str]:
        """Only granted fields leave the hub; of a provider's refusal, only its problem words."""
        parsed = _json_or_none(answer.body) if "json" in answer.content_type.lower() else None
        if 200 <= answer.status < 300:
            kept, fields = rules.filter_fields(parsed, granted) if parsed is not None else (None, ())
            if kept is None:
                raise ProviderAnswerInvalid("数据提供方的应答不是可按字段过滤的 JSON 对象或对象数组")
            trace.fields = fields
            return _dumps(kept), JSON
        problem = {k: v for k, v in parsed.items() if k in PROBLEM_KEYS} if isinstance(parsed, dict) else {}
        return _dumps(problem), JSON

    async def _record(self, trace: _Trace, *, fault: str | None, response: bytes = b"", status: int = 0) -> None:
        now = self.clock.now()
        uses = await self.uses.of_exchange(trace, at=now) if fault is None and 200 <= status < 300 else ()
        await self.log.append(Record(
            kind="exchange", message_id=trace.message_id[:128], request_id=trace.request_id, client=trace.client,
            service=trace.service, grant_id=trace.grant.id if trace.grant else None,
            consumer=trace.request.node, provider=trace.provider, user_id=trace.user_id, issue=trace.issue,
            subject_hash=self.uses.subject_hash(trace.subject),
            method=trace.request.method.upper(), path=trace.request.raw_path[:2000], fields_returned=trace.fields,
            request_in_at=trace.request.received_at, request_out_at=trace.request_out,
            response_in_at=trace.response_in, response_out_at=trace.response_out or now,
            request_bytes=len(trace.request.body), response_bytes=len(response),
            request_digest=digest(trace.request.body), response_digest=digest(response),
            request_hash=trace.request_hash, status=status, fault=fault, uses=tuple(uses)))


class _Trace:
    """What is known of a call as it goes: everything its log record needs."""

    def __init__(self, request: ExchangeRequest, headers_in: dict[str, str], *, message_id: str, request_id: str,
                 request_hash: str) -> None:
        self.request, self.headers_in = request, headers_in
        self.message_id, self.request_id, self.request_hash = message_id, request_id, request_hash
        self.client = headers_in.get("x-road-client", "")[:200]
        self.user_id, self.issue = rules.header_text(headers_in.get("x-road-userid"), 128), \
            rules.header_text(headers_in.get("x-road-issue"), 200)
        self.service = request.raw_path[:300]
        self.provider, self.service_title = "", ""
        self.grant: GrantView | None = None
        self.subject: str | None = None
        self.subject_kind: str | None = None
        self.fields: tuple[str, ...] = ()
        self.request_out: datetime | None = None
        self.response_in: datetime | None = None
        self.response_out: datetime | None = None

    def headers(self) -> dict[str, str]:
        return {"X-Road-Client": self.client, "X-Road-Service": self.service, "X-Road-Id": self.message_id,
                "X-Road-Request-Id": self.request_id, "X-Road-Request-Hash": self.request_hash}


def _with_ids(refusal: DomainError, trace: _Trace) -> DomainError:
    """A refusal carries the ids too: the consumer can quote them to the hub's operators."""
    refusal.xroad_headers = trace.headers()  # type: ignore[attr-defined]
    return refusal


def _json_or_none(body: bytes):
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
