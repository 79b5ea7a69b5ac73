"""The hub's own data services (identity verification, pooled health records): one door, one guard.

A node calls one of them about a citizen; the call crosses only under a usable grant for that
service (decided by the hub's operators), takes a token of the grant's quota, goes to the message
log (refusals too) and, when it was answered, to the citizen's tracker. What the service
answers is the owning capability's: it is handed the grant (its granted fields bound what leaves)
and says what it used. Every path to the asset goes through ``HubServices.call``.
"""
from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from domain.shared.clock import Clock
from domain.shared.errors import DomainError
from domain.sharing import rules
from domain.sharing.catalog import ServiceView
from domain.sharing.errors import GrantRequired, MessageLogUnavailable
from domain.sharing.grants import Grants, GrantView, take_quota
from domain.sharing.message_log import MessageLog, Record, digest
from domain.sharing.ports import QuotaBucket
from domain.sharing.tracker import DataUses


@dataclass(frozen=True)
class HubCall:
    """A node's call of one of the hub's services about one citizen."""

    node: str
    service: ServiceView
    kind: str  # the log's and the tracker's kind: identity_verification | health_records
    subject: str  # the citizen's ID number as the node gave it (kept as its keyed hash)
    path: str
    body: bytes  # as received: its digest goes to the log
    issue: str | None
    user_id: str | None
    received_at: datetime


@dataclass(frozen=True)
class Served:
    """What the owning capability answered: the bytes that leave, the fields it used and returned,
    the outcome the citizen reads."""

    answer: bytes
    fields: tuple[str, ...]  # of the citizen's data, used to answer (the tracker names them)
    returned: tuple[str, ...]  # of the answer (the log names them)
    outcome: str
    face_checked: bool = False  # identity verification: a fresh face scan was part of the check


Serve = Callable[[GrantView], Awaitable[Served]]


class HubServices:
    def __init__(self, *, clock: Clock, grants: Grants, log: MessageLog, uses: DataUses, quota: QuotaBucket) -> None:
        self.clock, self.grants, self.log, self.uses, self.quota = clock, grants, log, uses, quota

    async def call(self, asked: HubCall, serve: Serve) -> tuple[Served, str]:
        """``serve`` runs only under a usable grant within its quota; (what it served, the request id)."""
        request_id, grant, fault, served = uuid.uuid4().hex, None, None, None
        try:
            if not await self.log.is_open():
                raise MessageLogUnavailable("消息日志时间戳服务异常超过允许时长，暂停数据服务")
            grant = await self.grants.usable(consumer=asked.node, provider=rules.HUB_PROVIDER,
                                             service_code=asked.service.code)
            if grant is None:
                raise GrantRequired(f"节点 {asked.node} 没有「{asked.service.title}」服务的有效授权")
            await take_quota(self.quota, grant, f"每分钟最多 {grant.quota_per_minute} 次")
            served = await serve(grant)
        except DomainError as refusal:
            fault = refusal.code
            raise
        finally:
            await self._record(asked, request_id, grant, fault, served)
        return served, request_id

    async def _record(self, asked: HubCall, request_id: str, grant: GrantView | None, fault: str | None,
                      served: Served | None) -> None:
        now, answer = self.clock.now(), served.answer if served else b""
        uses = []
        if served is not None:
            uses.append(await self.uses.row(
                subject=asked.subject, at=now, kind=asked.kind, node=asked.node, service=asked.service.service_id,
                service_title=asked.service.title, fields=served.fields, purpose=grant.purpose, issue=asked.issue,
                outcome=served.outcome, request_id=request_id, embargo_days=grant.embargo_days))
        await self.log.append(Record(
            kind=asked.kind, message_id=request_id, request_id=request_id,
            client=str(rules.ClientId(rules.INSTANCE, rules.MEMBER_CLASS, asked.node, None)),
            service=asked.service.service_id, grant_id=grant.id if grant else None, consumer=asked.node,
            provider=rules.HUB_PROVIDER, user_id=asked.user_id, issue=asked.issue,
            subject_hash=self.uses.subject_hash(asked.subject.strip().upper()), method="POST", path=asked.path,
            fields_returned=served.returned if served else (), request_in_at=asked.received_at, request_out_at=None,
            response_in_at=None, response_out_at=now, request_bytes=len(asked.body), response_bytes=len(answer),
            request_digest=digest(asked.body), response_digest=digest(answer), request_hash="",
            status=200 if served else 0, fault=fault, uses=tuple(uses)))
