"""The pooled health records (健康信息汇聚): tests, vaccinations and trips regions push for their
residents and visitors, and the declarations citizens make themselves.

Records are kept by a keyed hash of the person's ID number — so a region can push records of someone
who never logged in, and they are theirs from their first login with real name — and what a record
says is sealed at rest. A push is idempotent on the region's own record id. A citizen sees all of
their records; a region sees the records it pushed (what other regions pushed only through a data
sharing grant, which is the sharing module's rule, not this one's).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.health import rules
from domain.health.errors import RecordInvalid
from domain.health.models import HealthRecord
from domain.shared import idempotency
from domain.shared.clock import Clock
from domain.shared.errors import InvalidInput
from domain.shared.values import IdNumber
from domain.shared.vault import Vault

SUBJECT = "health.subject"  # the vault's lookup context for the person a record is about
CONTENT = "health.record"
CITIZEN = "citizen"
MAX_PUSH = 500
MAX_TRIPS = 30


@dataclass(frozen=True)
class PushedRecord:
    record_id: str  # the region's own id: pushing it again changes nothing
    id_number: str
    kind: str  # test | vaccination | travel
    occurred_at: datetime
    result: str | None = None  # test: positive | negative
    dose: int | None = None  # vaccination: which dose
    visited: str | None = None  # travel: the 6-digit region visited
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Trip:
    region: str
    arrived: date
    left: date | None = None


@dataclass(frozen=True)
class Declaration:
    region: str  # where the citizen is now
    trips: tuple[Trip, ...]
    symptoms: tuple[str, ...]  # fever, cough... ; empty: none


@dataclass(frozen=True)
class RecordView:
    kind: str
    source: str
    region: str
    occurred_at: datetime
    content: dict[str, Any]


class Records:
    def __init__(self, *, clock: Clock, vault: Vault) -> None:
        self._clock, self._vault = clock, vault

    def subject_hash(self, id_number: str) -> str:
        return self._vault.lookup_hash(id_number, context=SUBJECT)

    async def push(self, *, node_code: str, region: str, records: list[PushedRecord]) -> dict[str, int]:
        """Store a region's records; those it pushed before (same record id) are left as they were."""
        if not 1 <= len(records) <= MAX_PUSH:
            raise RecordInvalid(f"每次 1–{MAX_PUSH} 条", errors=[{"field": "records", "message": "条数超出范围"}])
        problems = [p for i, r in enumerate(records) for p in _problems(i, r, self._clock.now())]
        if problems:
            raise RecordInvalid("健康信息有误，未保存任何一条", errors=problems)
        for attempt in range(2):  # the same records pushed twice at once: the second finds them known
            try:
                added = await self._store(node_code, region, records)
                break
            except IntegrityError:
                if attempt:
                    raise
        return {"received": len(records), "added": added, "already_known": len(records) - added}

    async def _store(self, node_code: str, region: str, records: list[PushedRecord]) -> int:
        now, added = self._clock.now(), 0
        async with in_transaction():
            known = set(await HealthRecord.filter(source=node_code, source_record_id__in=[r.record_id for r in records])
                        .values_list("source_record_id", flat=True))
            for record in records:
                if record.record_id in known:
                    continue
                known.add(record.record_id)
                await HealthRecord.create(
                    subject_hash=self.subject_hash(IdNumber.parse(record.id_number).value), kind=record.kind,
                    source=node_code, source_record_id=record.record_id, region=region,
                    occurred_at=record.occurred_at, content_sealed=self._seal(_content(record)), received_at=now)
                added += 1
        return added

    async def declare(self, *, id_number: str, declaration: Declaration,
                      claim: idempotency.Claim | None = None) -> RecordView:
        """A citizen's own declaration of where they are, where they have been and how they feel; sent
        again under the same Idempotency-Key (``claim``), the first one again."""
        problems = _declaration_problems(declaration, self._clock.today())
        if problems:
            raise RecordInvalid("填报内容有误", errors=problems)
        now = self._clock.now()
        content = declaration_content(declaration)

        async def write() -> RecordView:
            async with in_transaction() as conn:
                row = await HealthRecord.create(using_db=conn, subject_hash=self.subject_hash(id_number),
                                                kind="declaration", source=CITIZEN, source_record_id=uuid.uuid4().hex,
                                                region=declaration.region, occurred_at=now,
                                                content_sealed=self._seal(content), received_at=now)
                if claim is not None:
                    await idempotency.record(conn, claim, now, result=str(row.id))
            return self._view(row)

        async def replay(result: str) -> RecordView:
            return self._view(await HealthRecord.get(id=int(result)))

        return await (write() if claim is None else idempotency.once(claim, write=write, replay=replay))

    async def of_person(self, id_number: str, *, source: str | None = None) -> list[RecordView]:
        """A person's records, newest first (only one source's, when given)."""
        query = HealthRecord.filter(subject_hash=self.subject_hash(id_number))
        if source is not None:
            query = query.filter(source=source)
        return [self._view(row) for row in await query.order_by("-occurred_at", "-id")]

    async def for_rules(self, id_number: str) -> list[rules.Record]:
        since = self._clock.now() - timedelta(days=max(rules.TEST_DAYS, rules.TRIP_DAYS))
        # one query: the recent records, and vaccinations however long ago (doses count for ever)
        rows = await HealthRecord.filter(Q(occurred_at__gte=since) | Q(kind="vaccination"),
                                         subject_hash=self.subject_hash(id_number))
        return [rules.Record(kind=r.kind, region=r.region, occurred_at=r.occurred_at, content=self._open(r))
                for r in rows]

    def _seal(self, content: dict[str, Any]) -> str:
        return self._vault.seal(json.dumps(content, ensure_ascii=False, sort_keys=True), context=CONTENT)

    def _open(self, row: HealthRecord) -> dict[str, Any]:
        return json.loads(self._vault.open(row.content_sealed, context=CONTENT))

    def _view(self, row: HealthRecord) -> RecordView:
        return RecordView(kind=row.kind, source=row.source, region=row.region, occurred_at=row.occurred_at,
                          content=self._open(row))


def declaration_content(declaration: Declaration) -> dict[str, Any]:
    return {"trips": [{"region": t.region, "arrived": t.arrived.isoformat(),
                       "left": t.left.isoformat() if t.left else None} for t in declaration.trips],
            "symptoms": list(declaration.symptoms), "current_region": declaration.region}


def _content(record: PushedRecord) -> dict[str, Any]:
    content: dict[str, Any] = {"details": record.details}
    if record.kind == "test":
        content["result"] = record.result
    elif record.kind == "vaccination":
        content["dose"] = record.dose
    else:
        content["visited"] = record.visited
    return content


def _problems(index: int, record: PushedRecord, now: datetime) -> list[dict[str, str]]:
    where, problems = f"records[{index}]", []
    try:
        IdNumber.parse(record.id_number)
    except InvalidInput:
        problems.append({"field": f"{where}.id_number", "message": "身份证号码无效"})
    if not record.record_id or len(record.record_id) > 64:
        problems.append({"field": f"{where}.record_id", "message": "1–64 个字符"})
    if record.kind not in rules.RECORD_KINDS:
        problems.append({"field": f"{where}.kind", "message": f"应为 {', '.join(rules.RECORD_KINDS)} 之一"})
    if record.occurred_at > now + timedelta(minutes=5):
        problems.append({"field": f"{where}.occurred_at", "message": "不能晚于现在"})
    if record.kind == "test" and record.result not in rules.TEST_RESULTS:
        problems.append({"field": f"{where}.result", "message": "检测结果应为 positive 或 negative"})
    if record.kind == "vaccination" and not (isinstance(record.dose, int) and 1 <= record.dose <= 10):
        problems.append({"field": f"{where}.dose", "message": "剂次应为 1–10"})
    if record.kind == "travel" and not (record.visited and rules.REGION.fullmatch(record.visited)):
        problems.append({"field": f"{where}.visited", "message": "应为 6 位行政区划代码"})
    if len(json.dumps(record.details, ensure_ascii=False)) > 2000:
        problems.append({"field": f"{where}.details", "message": "过长"})
    return problems


def _declaration_problems(declaration: Declaration, today: date) -> list[dict[str, str]]:
    problems = []
    if not rules.REGION.fullmatch(declaration.region):
        problems.append({"field": "region", "message": "应为 6 位行政区划代码"})
    if len(declaration.trips) > MAX_TRIPS:
        problems.append({"field": "trips", "message": f"最多 {MAX_TRIPS} 段行程"})
    for i, trip in enumerate(declaration.trips):
        if not rules.REGION.fullmatch(trip.region):
            problems.append({"field": f"trips[{i}].region", "message": "应为 6 位行政区划代码"})
        if trip.arrived > today or (trip.left and (trip.left < trip.arrived or trip.left > today)):
            problems.append({"field": f"trips[{i}]", "message": "日期应不晚于今天，离开不早于到达"})
    return problems
