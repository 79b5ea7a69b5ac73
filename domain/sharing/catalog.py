"""The catalog of data services (数据服务目录): providers publish versions and retire them; the
exchange reads what serves. The hub's own service (identity verification) is part of it, built in.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from domain.audit.service import AuditLog, SystemActor
from domain.shared.clock import Clock
from domain.shared.memo import Memo
from domain.sharing import rules
from domain.sharing.errors import ServiceInvalid, ServiceNotFound
from domain.sharing.models import DataService
from domain.sharing.rules import Field, Operation, ServiceTerms, Subject

# How stale the exchange's view of a service may be in one process: a retirement has days of
# notice, a new version is seen within seconds (a grant, by contrast, is read on every call).
TERMS_SECONDS = 5.0
MAX_NOTICE_DAYS = 365


@dataclass(frozen=True)
class ServiceView:
    provider: str
    code: str
    version: int
    subsystem: str
    title: str
    description: str
    owner_department: str
    fields: tuple[Field, ...]
    operations: tuple[Operation, ...]
    subject: Subject | None
    openapi: dict
    status: str
    retire_at: datetime | None
    published_at: datetime

    @property
    def service_id(self) -> str:
        return str(rules.ServiceId(rules.INSTANCE, rules.MEMBER_CLASS, self.provider, self.subsystem, self.code))

    def terms(self) -> ServiceTerms:
        return ServiceTerms(provider=self.provider, code=self.code, subsystem=self.subsystem, version=self.version,
                            fields=self.fields, operations=self.operations, subject=self.subject,
                            status=self.status, retire_at=self.retire_at)


EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
# The hub's own: a department checks a citizen's name and ID number (docs/sharing.md).
IDENTITY_SERVICE = ServiceView(
    provider=rules.HUB_PROVIDER, code=rules.IDENTITY_SERVICE, version=1, subsystem="identity",
    title="居民身份核验", owner_department="国家政务服务平台",
    description="核验姓名与公民身份号码是否一致（可附人脸核验），只返回一致/不一致/无法核验，不返回任何个人信息。",
    fields=(Field("result", "核验结果", rules.INTERNAL, "国家政务服务平台实名认证"),),
    operations=(Operation("POST", "/gov/v1/identity/verifications"),), subject=Subject("body", "id_number"),
    openapi={"openapi": "3.0.3", "info": {"title": "居民身份核验", "version": "1"},
             "paths": {"/gov/v1/identity/verifications": {"post": {"summary": "身份核验"}}}},
    status=rules.ACTIVE, retire_at=None, published_at=EPOCH)
# The hub's own: the health records regions pooled (docs/health-codes.md); a field is a kind of record
HEALTH_RECORDS_SERVICE = ServiceView(
    provider=rules.HUB_PROVIDER, code=rules.HEALTH_RECORDS_SERVICE, version=1, subsystem="health",
    title="健康信息汇聚查询", owner_department="国家政务服务平台",
    description="查询各地区汇聚的个人健康信息（核酸检测、疫苗接种、行程、个人申报），只返回授权的信息类别。",
    fields=tuple(Field(kind, title, rules.SENSITIVE, "各省级平台汇聚的健康信息")
                 for kind, title in (("test", "核酸检测"), ("vaccination", "疫苗接种"), ("travel", "行程"),
                                     ("declaration", "个人申报"))),
    operations=(Operation("POST", "/gov/v1/health/records/query"),), subject=Subject("body", "id_number"),
    openapi={"openapi": "3.0.3", "info": {"title": "健康信息汇聚查询", "version": "1"},
             "paths": {"/gov/v1/health/records/query": {"post": {"summary": "健康信息查询"}}}},
    status=rules.ACTIVE, retire_at=None, published_at=EPOCH)
BUILT_IN = {(s.provider, s.code): s for s in (IDENTITY_SERVICE, HEALTH_RECORDS_SERVICE)}


class ServiceCatalog:
    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self._terms: Memo[tuple[str, str], ServiceView | None] = Memo(seconds=TERMS_SECONDS)

    async def publish(self, *, provider: str, description: Mapping[str, Any]) -> ServiceView:
        """A new version of the provider's service ``code`` (the first is version 1); the
        version before it stops serving at once (superseded)."""
        errors = rules.check_description(description)
        if errors:
            raise ServiceInvalid("数据服务描述有误", errors=errors)
        code, now = description["code"], self.clock.now()
        if (provider, code) in BUILT_IN:
            raise ServiceInvalid("该服务编码为平台保留", errors=[{"field": "code", "message": "平台保留"}])
        async with in_transaction():
            latest = await DataService.filter(provider=provider, code=code).order_by("-version").first()
            row = await DataService.create(
                provider=provider, code=code, version=(latest.version + 1) if latest else 1,
                subsystem=description["subsystem"], title=str(description.get("title") or code),
                description=str(description.get("description") or ""),
                owner_department=str(description.get("owner_department") or ""),
                fields_spec=[{k: f.get(k, "") for k in ("name", "title", "classification", "source")}
                             for f in description["fields"]],
                operations=[{"method": o["method"], "path": o["path"]} for o in description["operations"]],
                subject=dict(description["subject"]) if description.get("subject") else None,
                openapi=dict(description["openapi"]), status=rules.ACTIVE, published_at=now, updated_at=now)
            if latest is not None:
                await DataService.filter(provider=provider, code=code, version__lt=row.version).update(
                    status=rules.RETIRED, retire_at=now, updated_at=now)
            await AuditLog.record(actor=node_actor(provider), action="sharing.service.publish",
                                  target_type="data_service", target_id=f"{provider}/{code}",
                                  before=None if latest is None else {"version": latest.version},
                                  after={"version": row.version, "fields": row.fields_spec}, at=now)
        self._terms.clear()
        return view_of(row)

    async def retire(self, *, provider: str, code: str, notice_days: int) -> ServiceView:
        """Retiring: it serves ``notice_days`` more, then stops (consumers are told by its status)."""
        if not 0 <= notice_days <= MAX_NOTICE_DAYS:
            raise ServiceInvalid("下线通知期应为0到365天", errors=[{"field": "notice_days", "message": "0-365"}])
        now = self.clock.now()
        async with in_transaction():
            row = await self._current_row(provider, code, lock=True)
            before = {"status": row.status, "retire_at": row.retire_at}
            row.status, row.retire_at, row.updated_at = rules.RETIRING, now + timedelta(days=notice_days), now
            await row.save(update_fields=["status", "retire_at", "updated_at"])
            await AuditLog.record(actor=node_actor(provider), action="sharing.service.retire",
                                  target_type="data_service", target_id=f"{provider}/{code}", before=before,
                                  after={"status": row.status, "retire_at": row.retire_at}, at=now)
        self._terms.clear()
        return view_of(row)

    async def current(self, provider: str, code: str) -> ServiceView:
        """The version that serves (or retires), fresh from the database; ServiceNotFound if none."""
        if (provider, code) in BUILT_IN:
            return BUILT_IN[(provider, code)]
        return view_of(await self._current_row(provider, code))

    async def serving_terms(self, provider: str, code: str) -> ServiceView | None:
        """What the exchange checks a call against (a few seconds' memo): None if nothing serves."""
        async def load() -> ServiceView | None:
            try:
                return await self.current(provider, code)
            except ServiceNotFound:
                return None
        found = await self._terms.get((provider, code), load)
        return found if found is not None and rules.serving(found.terms(), self.clock.now()) else None

    async def list(self, *, provider: str | None = None, include_retired: bool = False) -> list[ServiceView]:
        query = DataService.all() if include_retired else DataService.filter(status__in=[rules.ACTIVE, rules.RETIRING])
        if provider:
            query = query.filter(provider=provider)
        rows = [view_of(r) for r in await query.order_by("provider", "code", "-version")]
        built_in = [s for s in BUILT_IN.values() if provider in (None, s.provider)]
        return built_in + rows

    def forget(self) -> None:
        self._terms.clear()

    async def _current_row(self, provider: str, code: str, *, lock: bool = False) -> DataService:
        query = DataService.filter(provider=provider, code=code, status__in=[rules.ACTIVE, rules.RETIRING])
        if lock:
            query = query.select_for_update()
        row = await query.order_by("-version").first()
        if row is None:
            raise ServiceNotFound(f"数据服务 {provider}/{code} 不存在或已下线")
        return row


def node_actor(code: str) -> SystemActor:
    """Who the audit trail names for a node's act: the node, as signed."""
    return SystemActor(f"node:{code}")


def view_of(row: DataService) -> ServiceView:
    subject = row.subject or None
    return ServiceView(
        provider=row.provider, code=row.code, version=row.version, subsystem=row.subsystem, title=row.title,
        description=row.description, owner_department=row.owner_department,
        fields=tuple(Field(f["name"], f.get("title", ""), f["classification"], f.get("source", ""))
                     for f in row.fields_spec),
        operations=tuple(Operation(o["method"], o["path"]) for o in row.operations),
        subject=Subject(subject["in"], subject["name"], subject.get("kind", "person")) if subject else None,
        openapi=row.openapi,
        status=row.status, retire_at=row.retire_at, published_at=row.published_at)
