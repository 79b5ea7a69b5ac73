"""Grants (共享授权): a consumer node asks for a service's fields for a purpose; the provider
approves (possibly fewer fields, a quota, a validity), refuses, or lets the request lapse; a grant
can be suspended, resumed and revoked at once. Every step is in the audit trail. The steps are
``rules.GRANT_STEPS``; who is who (provider, consumer, operator) is decided here, once.
"""
from __future__ import annotations

import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.audit.service import AuditLog, SystemActor
from domain.shared.clock import Clock
from domain.sharing import rules
from domain.sharing.catalog import ServiceCatalog, node_actor
from domain.sharing.errors import GrantInvalid, GrantNotFound, GrantPartyOnly, QuotaExceeded
from domain.sharing.models import DataGrant
from domain.sharing.ports import QuotaBucket

LAPSE_DAYS = 14  # a request nobody decided on lapses after this
MAX_VALID_DAYS = 3 * 365
MAX_EMBARGO_DAYS = 365
MAX_QUOTA_PER_MINUTE = 60_000


@dataclass(frozen=True)
class Party:
    """Who acts on a grant: a node (as provider or consumer, decided per grant) or an operator."""

    node: str | None = None  # a node's code, as signed
    operator: str | None = None  # an admin's username

    def actor(self):
        return node_actor(self.node) if self.node else SystemActor(f"admin:{self.operator}")


SYSTEM_PARTY = Party(operator="system")


@dataclass(frozen=True)
class GrantRequest:
    provider: str
    service_code: str
    fields: tuple[str, ...]
    purpose: str
    legal_basis: str
    expected_daily_calls: int
    operations: tuple[rules.Operation, ...] | None = None
    investigative: bool = False
    embargo_days: int = 0


@dataclass(frozen=True)
class Approval:
    fields: tuple[str, ...] | None = None  # None: all requested
    quota_per_minute: int = 60
    valid_days: int = 365


@dataclass(frozen=True)
class GrantView:
    id: str
    provider: str
    service_code: str
    consumer: str
    fields_requested: tuple[str, ...]
    fields_granted: tuple[str, ...] | None
    operations: tuple[rules.Operation, ...] | None
    purpose: str
    legal_basis: str
    expected_daily_calls: int
    quota_per_minute: int | None
    investigative: bool
    embargo_days: int
    status: str
    reason: str | None
    valid_from: datetime | None
    valid_until: datetime | None
    requested_at: datetime
    decided_at: datetime | None


class Grants:
    def __init__(self, *, clock: Clock, catalog: ServiceCatalog) -> None:
        self.clock, self.catalog = clock, catalog

    async def request(self, *, consumer: str, asked: GrantRequest) -> GrantView:
        service = await self.catalog.current(asked.provider, asked.service_code)
        errors = _request_errors(asked, service.terms())
        if consumer == asked.provider:
            errors.append({"field": "provider", "message": "不能申请本节点自己的服务"})
        if errors:
            raise GrantInvalid("数据共享申请有误", errors=errors)
        now = self.clock.now()
        async with in_transaction():
            row = await DataGrant.create(
                public_id="G" + secrets.token_hex(8).upper(), provider=asked.provider,
                service_code=asked.service_code, consumer=consumer, fields_requested=sorted(set(asked.fields)),
                operations=None if asked.operations is None else [
                    {"method": o.method, "path": o.path} for o in asked.operations],
                purpose=asked.purpose.strip(), legal_basis=asked.legal_basis.strip(),
                expected_daily_calls=asked.expected_daily_calls, investigative=asked.investigative,
                embargo_days=asked.embargo_days if asked.investigative else 0, status=rules.REQUESTED,
                requested_at=now, updated_at=now)
            await self._audit(Party(node=consumer), "request", row, None, now)
        return view_of(row)

    async def approve(self, *, party: Party, grant_id: str, approval: Approval) -> GrantView:
        if not 1 <= approval.quota_per_minute <= MAX_QUOTA_PER_MINUTE:
            raise GrantInvalid("调用频率应为每分钟1到60000次", errors=[{"field": "quota_per_minute", "message": "1-60000"}])
        if not 1 <= approval.valid_days <= MAX_VALID_DAYS:
            raise GrantInvalid("有效期应为1到1095天", errors=[{"field": "valid_days", "message": "1-1095"}])

        def change(row: DataGrant, now: datetime) -> None:
            try:
                row.fields_granted = list(rules.narrowed(row.fields_requested, approval.fields))
            except ValueError as extra:
                raise GrantInvalid("只能批准申请过的字段", errors=[{"field": "fields", "message": f"未申请：{extra}"}])
            row.quota_per_minute = approval.quota_per_minute
            row.valid_from, row.valid_until = now, now + timedelta(days=approval.valid_days)
            row.decided_at = now
        return await self._step(party, grant_id, "approve", change)

    async def refuse(self, *, party: Party, grant_id: str, reason: str) -> GrantView:
        return await self._step(party, grant_id, "refuse", _with_reason(reason, decided=True))

    async def withdraw(self, *, party: Party, grant_id: str) -> GrantView:
        return await self._step(party, grant_id, "withdraw", lambda row, now: None)

    async def suspend(self, *, party: Party, grant_id: str, reason: str) -> GrantView:
        return await self._step(party, grant_id, "suspend", _with_reason(reason))

    async def resume(self, *, party: Party, grant_id: str) -> GrantView:
        return await self._step(party, grant_id, "resume", lambda row, now: None)

    async def revoke(self, *, party: Party, grant_id: str, reason: str) -> GrantView:
        return await self._step(party, grant_id, "revoke", _with_reason(reason))

    async def housekeeping(self) -> dict[str, int]:
        """Requests nobody decided lapse; grants past their validity expire (a scheduled job)."""
        now, counts = self.clock.now(), {"lapsed": 0, "expired": 0}
        stale = await DataGrant.filter(status=rules.REQUESTED, requested_at__lt=now - timedelta(days=LAPSE_DAYS))
        ended = await DataGrant.filter(status__in=[rules.APPROVED, rules.SUSPENDED], valid_until__lte=now)
        for step, rows, count in (("lapse", stale, "lapsed"), ("expire", ended, "expired")):
            for row in rows:
                await self._step(SYSTEM_PARTY, row.public_id, step, lambda r, n: None)
                counts[count] += 1
        return counts

    async def get(self, *, party: Party, grant_id: str) -> GrantView:
        row = await _find(grant_id)
        _role(party, row)  # only its parties and operators see a grant
        return view_of(row)

    async def list(self, *, node: str | None = None, role: str | None = None, status: str | None = None,
                   limit: int = 100) -> list[GrantView]:
        """A node's grants (as ``role``: provider, consumer, or both), or every grant (operators)."""
        query = DataGrant.all()
        if node and role == rules.PROVIDER:
            query = query.filter(provider=node)
        elif node and role == rules.CONSUMER:
            query = query.filter(consumer=node)
        elif node:
            query = query.filter(Q(provider=node) | Q(consumer=node))
        if status:
            query = query.filter(status=status)
        return [view_of(r) for r in await query.order_by("-requested_at", "-id").limit(max(1, min(limit, 500)))]

    async def usable(self, *, consumer: str, provider: str, service_code: str) -> GrantView | None:
        """The grant a call crosses under now, read fresh on every call (a revocation holds at once)."""
        now = self.clock.now()
        rows = await DataGrant.filter(consumer=consumer, provider=provider, service_code=service_code,
                                      status=rules.APPROVED).order_by("-valid_until")
        for row in rows:
            if rules.usable(row.status, row.valid_from, row.valid_until, now):
                return view_of(row)
        return None

    async def _step(self, party: Party, grant_id: str, step: str, change) -> GrantView:
        now = self.clock.now()
        async with in_transaction():
            row = await _find(grant_id, lock=True)
            role = rules.SYSTEM if party is SYSTEM_PARTY else _role(party, row)
            before = view_of(row)
            row.status = rules.take_step(row.status, step, role)
            change(row, now)
            row.updated_at = now
            await row.save()
            await self._audit(party, step, row, before, now)
        return view_of(row)

    async def _audit(self, party: Party, step: str, row: DataGrant, before: GrantView | None, now: datetime) -> None:
        await AuditLog.record(actor=party.actor(), action=f"sharing.grant.{step}", target_type="data_grant",
                              target_id=row.public_id, before=None if before is None else _audited(before),
                              after=_audited(view_of(row)), at=now)


def _role(party: Party, row: DataGrant) -> str:
    """The party's part in this grant; the hub's operators are the provider of the hub's own services."""
    if party.node and party.node == row.provider:
        return rules.PROVIDER
    if party.node and party.node == row.consumer:
        return rules.CONSUMER
    if party.operator:
        return rules.PROVIDER if row.provider == rules.HUB_PROVIDER else rules.OPERATOR
    raise GrantPartyOnly("只有授权的提供方或使用方可以查看或操作该授权")


def _request_errors(asked: GrantRequest, terms: rules.ServiceTerms) -> list[dict[str, str]]:
    errors = []
    unknown = sorted(set(asked.fields) - terms.field_names)
    if not asked.fields:
        errors.append({"field": "fields", "message": "至少申请一个字段"})
    elif unknown:
        errors.append({"field": "fields", "message": "服务没有这些字段：" + "、".join(unknown)})
    for name, text in (("purpose", asked.purpose), ("legal_basis", asked.legal_basis)):
        if len(text.strip()) < 4:
            errors.append({"field": name, "message": "请具体说明（至少4个字）"})
    if not 1 <= asked.expected_daily_calls <= 100_000_000:
        errors.append({"field": "expected_daily_calls", "message": "1到1亿"})
    if asked.operations is not None and not set(asked.operations) <= set(terms.operations):
        errors.append({"field": "operations", "message": "只能申请服务已发布的操作"})
    if asked.investigative and not 1 <= asked.embargo_days <= MAX_EMBARGO_DAYS:
        errors.append({"field": "embargo_days", "message": "侦查类使用的暂缓告知期应为1到365天"})
    return errors


def _with_reason(reason: str, *, decided: bool = False):
    if len((reason or "").strip()) < 2:
        raise GrantInvalid("请说明理由", errors=[{"field": "reason", "message": "请说明理由"}])

    def change(row: DataGrant, now: datetime) -> None:
        row.reason = reason.strip()
        if decided:
            row.decided_at = now
    return change


async def _find(grant_id: str, *, lock: bool = False) -> DataGrant:
    query = DataGrant.filter(public_id=grant_id)
    row = await (query.select_for_update() if lock else query).first()
    if row is None:
        raise GrantNotFound(f"授权 {grant_id} 不存在")
    return row


def _audited(view: GrantView) -> dict:
    return {"status": view.status, "fields_granted": view.fields_granted, "quota_per_minute": view.quota_per_minute,
            "valid_until": view.valid_until, "reason": view.reason}


def view_of(row: DataGrant) -> GrantView:
    return GrantView(
        id=row.public_id, provider=row.provider, service_code=row.service_code, consumer=row.consumer,
        fields_requested=tuple(row.fields_requested),
        fields_granted=None if row.fields_granted is None else tuple(row.fields_granted),
        operations=None if row.operations is None else tuple(rules.Operation(o["method"], o["path"])
                                                             for o in row.operations),
        purpose=row.purpose, legal_basis=row.legal_basis, expected_daily_calls=row.expected_daily_calls,
        quota_per_minute=row.quota_per_minute, investigative=row.investigative, embargo_days=row.embargo_days,
        status=row.status, reason=row.reason, valid_from=row.valid_from, valid_until=row.valid_until,
        requested_at=row.requested_at, decided_at=row.decided_at)


def fields_of(grant: GrantView) -> frozenset[str]:
    return frozenset(grant.fields_granted or ())


def operations_of(grant: GrantView, service_operations: Sequence[rules.Operation]) -> tuple[rules.Operation, ...]:
    return tuple(service_operations) if grant.operations is None else tuple(
        op for op in grant.operations if op in set(service_operations))


async def take_quota(quota: QuotaBucket, grant: GrantView, refusal: str) -> None:
    """One token of the grant's quota per minute, from a bucket every hub process shares (the
    exchange and the hub's own services alike); none left: ``QuotaExceeded(refusal)``, with when to retry."""
    allowed, wait = await quota.take(f"sharing:grant:{grant.id}", capacity=grant.quota_per_minute or 1,
                                     per_seconds=60.0)
    if not allowed:
        raise QuotaExceeded(refusal, retry_after=max(1, math.ceil(wait)))
