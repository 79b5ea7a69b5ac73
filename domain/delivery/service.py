"""The outbox (docs/delivery.md): deliveries written with the change that causes them, a relay that
sends them with retries, and the operator's tools for what keeps failing.

Guarantees, and what makes them hold:
- **Nothing lost.** ``enqueue`` writes on the caller's transaction; a row leaves ``pending`` only
  when the receiver said yes (``delivered``) or an operator must look (``parked``).
- **At least once, seen once.** A relay leases the rows it sends (``claimed_by``/``claimed_until``);
  a relay killed mid-batch leaves leases that run out, and another relay sends those rows again.
  The receiver dedupes by the delivery id, so a resend is harmless: that is the contract.
- **Several relays.** Claiming is one conditional UPDATE on the lease; on PostgreSQL the rows are
  first picked with ``FOR UPDATE SKIP LOCKED`` so relays do not queue behind each other.
"""
from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from domain.audit.service import Actor, AuditLog
from domain.delivery import rules
from domain.delivery.errors import DeliveryInvalid, DeliveryNotFound, DeliveryNotResendable, DeliveryQueryInvalid
from domain.delivery.models import Delivery, DeliveryAttempt, DeliverySummary
from domain.delivery.ports import Outgoing, Sender, SendResult
from domain.shared import cursors
from domain.shared.clock import Clock, beijing_day_start
from domain.shared.errors import InvalidCursor
from domain.shared.rows import insert_rows
from domain.shared.vault import Vault

log = logging.getLogger("govhub.delivery")

MAX_PAGE = 200
MAX_BULK_RESEND = 10_000  # one bulk resend; more is done in several (each audited)
STUCK_AFTER = timedelta(minutes=10)  # pending and due this long ago: is the relay running?
SUMMARY_EVERY = timedelta(days=1)
SUMMARY_SLACK = timedelta(minutes=30)  # an hourly job that ticks a little early still takes it


@dataclass(frozen=True)
class NewDelivery:
    """A delivery to write (``enqueue_many``): see ``enqueue`` for the fields."""

    kind: str
    target: str
    payload: dict[str, Any]
    dedupe_key: str


@dataclass(frozen=True)
class DeliveryFilters:
    status: str | None = None
    kind: str | None = None
    target: str | None = None
    created_from: datetime | None = None  # inclusive
    created_until: datetime | None = None  # exclusive


@dataclass(frozen=True)
class AttemptView:
    number: int
    relay: str
    started_at: datetime
    duration_ms: int
    outcome: str
    status_code: int | None
    error: str | None
    response_excerpt: str | None


@dataclass(frozen=True)
class DeliveryView:
    id: int
    kind: str
    target: str
    dedupe_key: str
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status_code: int | None
    parked_reason: str | None
    created_at: datetime
    updated_at: datetime
    delivered_at: datetime | None
    parked_at: datetime | None
    number: str | None = None  # the application number in the payload, if any (to look the case up)
    payload: dict[str, Any] | None = None  # detail only
    attempt_log: list[AttemptView] = field(default_factory=list)  # detail only


@dataclass(frozen=True)
class DeliveryPage:
    items: list[DeliveryView]
    next_cursor: str | None


@dataclass(frozen=True)
class RelayReport:
    claimed: int = 0
    delivered: int = 0
    retrying: int = 0
    parked: int = 0

    def __add__(self, other: RelayReport) -> RelayReport:
        return RelayReport(self.claimed + other.claimed, self.delivered + other.delivered,
                           self.retrying + other.retrying, self.parked + other.parked)


@dataclass(frozen=True)
class _Tried:
    """One send, done but not yet recorded."""

    row: Delivery
    number: int
    started_at: datetime
    duration_ms: int
    result: SendResult
    decision: rules.Decision


class DeliveryService:
    def __init__(self, *, clock: Clock, vault: Vault, senders: Mapping[str, Sender] | None = None,
                 relay_name: str | None = None,
                 lease_seconds: float = 120.0, concurrency: int = 16, send_timeout: float = 30.0,
                 max_attempts: int = rules.MAX_ATTEMPTS, backoff_base: float = rules.BASE_SECONDS,
                 jitter: Callable[[], float] = random.random, record_every: int | None = None) -> None:
        """``senders`` maps a kind to its sender (a kind without one is parked, never dropped); kept
        as given, not copied, so a ``Senders`` registry joined after (notifications) is seen.
        The lease must outlast a batch: ``send_timeout`` bounds each send, so a batch of
        ``concurrency``-wide sends takes at most about ``limit / concurrency * send_timeout``."""
        self._clock, self._vault = clock, vault
        self.senders: Mapping[str, Sender] = senders if senders is not None else {}
        self._relay = (relay_name or f"{socket.gethostname()}:{os.getpid()}")[:40]
        self._lease = timedelta(seconds=lease_seconds)
        self._concurrency = concurrency
        self._send_timeout = send_timeout
        self._max_attempts = max_attempts
        self._base = backoff_base
        self._jitter = jitter
        # outcomes are recorded in groups of this size (at most this many resent after a crash)
        self._record_every = record_every or max(1, concurrency)

    # --- writing: the applications' and notifications' side ---------------------------------

    async def enqueue(self, *, kind: str, target: str, payload: dict, dedupe_key: str,
                      connection: BaseDBAsyncClient | None = None) -> int:
        """Write one pending delivery, due now, on ``connection`` (the caller's open transaction,
        so the delivery commits or rolls back with the caller's own writes). Returns its id.

        The same ``dedupe_key`` again returns the first delivery's id and writes nothing. This
        holds under concurrency: the insert is ``ON CONFLICT DO NOTHING`` on the unique key (a
        concurrent insert of the same key waits for the first transaction), and never raises an
        integrity error that would abort the caller's PostgreSQL transaction."""
        db = connection or connections.get("default")
        await self.enqueue_many([NewDelivery(kind=kind, target=target, payload=payload, dedupe_key=dedupe_key)],
                                connection=db)
        found = await Delivery.filter(dedupe_key=dedupe_key).using_db(db).limit(1).values_list("id", flat=True)
        if not found:  # cannot happen short of a concurrent hard delete; say so loudly
            raise RuntimeError(f"delivery {dedupe_key!r} neither inserted nor found")
        return found[0]

    async def enqueue_many(self, items: Sequence[NewDelivery], *, connection: BaseDBAsyncClient) -> None:
        """``enqueue`` for many deliveries in one statement (a batch of submissions), with the same
        guarantees; all are checked before any is written."""
        for item in items:
            problems = rules.enqueue_problems(kind=item.kind, target=item.target, payload=item.payload,
                                              dedupe_key=item.dedupe_key)
            if problems:
                raise DeliveryInvalid("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)
        now = self._clock.now()
        rows = [{"kind": i.kind, "target": i.target, "payload_sealed": self._seal(i.payload, i.dedupe_key),
                 "dedupe_key": i.dedupe_key, "status": rules.PENDING, "attempts": 0, "next_attempt_at": now,
                 "created_at": now, "updated_at": now}
                for i in items]
        await insert_rows(Delivery, rows, connection=connection, ignore_conflicts=True)

    def payload_of(self, row: Delivery) -> dict[str, Any]:
        """The clear payload of a stored delivery (to send it; operators see only its keys)."""
        if row.payload_sealed is None:  # written before payloads were sealed (migration 0014)
            return row.payload or {}
        return json.loads(self._vault.open(row.payload_sealed, context=_payload_context(row.dedupe_key)))

    def _seal(self, payload: dict[str, Any], dedupe_key: str) -> str:
        return self._vault.seal(json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                                context=_payload_context(dedupe_key))

    # --- the relay ---------------------------------------------------------------------------

    async def relay_due(self, limit: int = 100) -> RelayReport:
        """Claim up to ``limit`` due deliveries, send them (``concurrency`` at a time), record every
        attempt and decide each one's fate. Safe to run in several processes at once.

        Outcomes are recorded in small groups as they come in (one transaction per group rather
        than per delivery: commits are what bounds the relay). A relay killed before recording a
        group leaves those rows leased; they are sent again after the lease, and deduped."""
        token, claimed = await self._claim(limit)
        if not claimed:
            return RelayReport()
        gate = asyncio.Semaphore(self._concurrency)
        done: list[_Tried] = []
        fates: Counter[str] = Counter()

        async def flush() -> None:
            group = done[:]
            done.clear()
            fates.update(await self._record(group, token))

        async def one(row: Delivery) -> None:
            async with gate:
                done.append(await self._try(row))
            if len(done) >= self._record_every:
                await flush()

        await asyncio.gather(*(one(row) for row in claimed))
        await flush()
        return RelayReport(claimed=len(claimed), delivered=fates[rules.DELIVERED],
                           retrying=fates[rules.PENDING], parked=fates[rules.PARKED])

    async def drain(self, *, batch: int = 100, budget_seconds: float = 20.0) -> RelayReport:
        """Relay batches until nothing is due or the time budget is spent (one scheduler tick)."""
        deadline = time.monotonic() + budget_seconds
        total = RelayReport()
        while True:
            report = await self.relay_due(batch)
            total += report
            if report.claimed < batch or time.monotonic() >= deadline:
                return total

    def lease_for(self, limit: int) -> timedelta:
        """Long enough for the whole batch even if every send runs to its timeout."""
        rounds = -(-limit // self._concurrency)
        return max(self._lease, timedelta(seconds=rounds * self._send_timeout + 30))

    async def _claim(self, limit: int) -> tuple[str, list[Delivery]]:
        now = self._clock.now()
        token = f"{self._relay}:{uuid.uuid4().hex[:12]}"
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        async with in_transaction() as conn:
            due = (Delivery.filter(free, status=rules.PENDING, next_attempt_at__lte=now)
                   .order_by("next_attempt_at", "id").limit(limit).using_db(conn))
            if conn.capabilities.dialect == "postgres":
                due = due.select_for_update(skip_locked=True)  # (dropped by values_list: whole rows)
            rows = await due
            if not rows:
                return token, []
            # the lease condition again: on SQLite (no row locks) another relay may have read the same rows
            claimed = await (Delivery.filter(free, id__in=[row.id for row in rows], status=rules.PENDING)
                             .using_db(conn).update(claimed_by=token, claimed_until=now + self.lease_for(limit)))
        if claimed != len(rows):
            rows = await Delivery.filter(claimed_by=token).order_by("next_attempt_at", "id")
        return token, rows

    async def _try(self, row: Delivery) -> _Tried:
        number = row.attempts + 1
        started_at = self._clock.now()
        began = time.perf_counter()
        result = await self._send(row, number)
        duration_ms = int((time.perf_counter() - began) * 1000)
        decision = rules.decide(outcome=result.outcome, attempts=number, now=self._clock.now(),
                                jitter=self._jitter(), retry_after=result.retry_after, error=result.error,
                                max_attempts=self._max_attempts, base=self._base)
        return _Tried(row, number, started_at, duration_ms, result, decision)

    async def _record(self, group: list[_Tried], token: str) -> Counter[str]:
        """Every attempt of ``group`` and each delivery's new state, in one transaction."""
        fates: Counter[str] = Counter()
        if not group:
            return fates
        now = self._clock.now()
        async with in_transaction() as conn:
            await DeliveryAttempt.bulk_create([
                DeliveryAttempt(delivery_id=t.row.id, number=t.number, relay=self._relay, started_at=t.started_at,
                                duration_ms=t.duration_ms, outcome=t.result.outcome,
                                status_code=t.result.status_code, error=_clip(t.result.error, 500),
                                response_excerpt=_clip(t.result.response_excerpt, 1000)) for t in group],
                using_db=conn)
            # Delivered is the truth whoever holds the lease now (the receiver has it): one UPDATE
            # per status code for the whole group, since that is all that differs between them.
            delivered: dict[int | None, list[int]] = {}
            for tried in group:
                if tried.decision.status == rules.DELIVERED:
                    delivered.setdefault(tried.result.status_code, []).append(tried.row.id)
            for status_code, ids in delivered.items():
                fates[rules.DELIVERED] += await (
                    Delivery.filter(id__in=ids).exclude(status=rules.DELIVERED).using_db(conn)
                    .update(attempts=F("attempts") + 1, status=rules.DELIVERED, claimed_by=None, claimed_until=None,
                            last_error=None, last_status_code=status_code, delivered_at=now, updated_at=now))
            for tried in group:
                if tried.decision.status != rules.DELIVERED:
                    fates[tried.decision.status] += await self._record_failure(tried, token, now, conn)
        return fates

    async def _record_failure(self, tried: _Tried, token: str, now: datetime, conn: BaseDBAsyncClient) -> int:
        """A retry or a park, decided only by the lease holder: a relay whose lease ran out must
        not undo what the relay that took the row over has recorded."""
        row, result, decision = tried.row, tried.result, tried.decision
        changes: dict[str, Any] = dict(attempts=F("attempts") + 1, status=decision.status, claimed_by=None,
                                       claimed_until=None, last_error=_clip(result.error, 500),
                                       last_status_code=result.status_code, updated_at=now)
        if decision.status == rules.PARKED:
            changes.update(parked_reason=decision.parked_reason, parked_at=now)
        else:
            changes.update(next_attempt_at=decision.next_attempt_at)
        updated = await (Delivery.filter(id=row.id, claimed_by=token, status=rules.PENDING).using_db(conn)
                         .update(**changes))
        if not updated:
            log.warning("delivery %s: lease lost before attempt %s was recorded (%s)", row.id, tried.number,
                        result.outcome)
        elif decision.status == rules.PARKED:
            log.warning("delivery %s parked (%s to %s): %s", row.id, row.kind, row.target, decision.parked_reason)
        return updated

    async def _send(self, row: Delivery, number: int) -> SendResult:
        sender = self.senders.get(row.kind)
        if sender is None:
            return SendResult(rules.OUTCOME_NO_SENDER, error=row.kind)
        outgoing = Outgoing(id=row.id, kind=row.kind, target=row.target, payload=self.payload_of(row), attempt=number,
                            created_at=row.created_at)
        try:
            return await asyncio.wait_for(sender.send(outgoing), timeout=self._send_timeout)
        except TimeoutError:
            return SendResult.retry(f"no answer within {self._send_timeout:g} s")
        except Exception as exc:  # a sender's bug must not stop the relay: retried, and logged in full
            log.exception("delivery %s: sender for %s raised", row.id, row.kind)
            return SendResult.retry(f"{type(exc).__name__}: {exc}")

    # --- operators ---------------------------------------------------------------------------

    async def list(self, filters: DeliveryFilters | None = None, *, limit: int = 50,
                   cursor: str | None = None) -> DeliveryPage:
        """Newest first; ``cursor`` is the previous page's ``next_cursor``."""
        query = _filtered(filters or DeliveryFilters())
        if cursor:
            query = query.filter(id__lt=_decode_cursor(cursor))
        limit = max(1, min(limit, MAX_PAGE))
        rows = await query.order_by("-id").limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return DeliveryPage(items=[_view(row, self.payload_of(row)) for row in rows],
                            next_cursor=_encode_cursor(rows[-1].id) if more else None)

    async def get(self, delivery_id: int) -> DeliveryView:
        row = await self._row(delivery_id)
        attempts = await DeliveryAttempt.filter(delivery_id=row.id).order_by("id")
        return _view(row, self.payload_of(row), detail=True, attempts=attempts)

    async def resend(self, *, delivery_id: int, actor: Actor, request_id: str | None = None,
                     reason: str | None = None) -> DeliveryView:
        """Put one parked delivery back in the queue, due now, with a fresh round of tries."""
        now = self._clock.now()
        async with in_transaction() as conn:
            row = await self._row(delivery_id, conn)
            if row.status != rules.PARKED:
                raise DeliveryNotResendable(f"投递 {row.id} 的状态为 {row.status}，只有已搁置（parked）的投递可以重发",
                                            delivery_status=row.status)
            updated = await (Delivery.filter(id=row.id, status=rules.PARKED).using_db(conn)
                             .update(**_requeued(now)))
            if not updated:  # resent by another operator between the read and the update
                raise DeliveryNotResendable(f"投递 {row.id} 已被重发", delivery_status=rules.PENDING)
            await AuditLog.record(actor=actor, action="delivery.resend", target_type="delivery", target_id=row.id,
                                  before={"status": row.status, "attempts": row.attempts,
                                          "parked_reason": row.parked_reason},
                                  after={"status": rules.PENDING, "attempts": 0, "reason": reason},
                                  request_id=request_id, at=now)
        log.info("delivery %s resent by %s", row.id, actor.username)
        return await self.get(row.id)

    async def resend_parked(self, *, filters: DeliveryFilters, actor: Actor, request_id: str | None = None,
                            reason: str | None = None) -> list[int]:
        """Resend every parked delivery matching ``filters`` (at most MAX_BULK_RESEND at a time);
        one audit entry names the filters and the ids. Returns the ids resent."""
        if filters.status not in (None, rules.PARKED):
            raise DeliveryQueryInvalid("批量重发只针对已搁置（parked）的投递",
                                       errors=[{"field": "status", "message": "应为 parked 或不填"}])
        now = self._clock.now()
        async with in_transaction() as conn:
            query = _filtered(DeliveryFilters(**{**asdict(filters), "status": rules.PARKED})).using_db(conn)
            ids = await query.order_by("id").limit(MAX_BULK_RESEND).values_list("id", flat=True)
            if ids:
                await (Delivery.filter(id__in=ids, status=rules.PARKED).using_db(conn)
                       .update(**_requeued(now)))
                await AuditLog.record(actor=actor, action="delivery.resend_bulk", target_type="delivery",
                                      target_id="bulk", before={"filters": _filters_record(filters)},
                                      after={"count": len(ids), "ids": ids[:1000], "reason": reason},
                                      request_id=request_id, at=now)
        log.info("%s parked deliveries resent by %s", len(ids), actor.username)
        return list(ids)

    async def take_summary(self) -> dict[str, Any]:
        """The daily alert summary, stored for operators and returned: what was created in the
        last 24 hours by kind, target and status; everything parked now, with the oldest; what is
        pending long past due (a relay not running)."""
        now = self._clock.now()
        since = now - timedelta(days=1)
        recent = await (Delivery.filter(created_at__gte=since).group_by("kind", "target", "status")
                        .annotate(count=Count("id")).values("kind", "target", "status", "count"))
        parked = Delivery.filter(status=rules.PARKED)
        oldest = await parked.order_by("parked_at", "id").first()
        parked_by = await (parked.group_by("kind", "target").annotate(count=Count("id"))
                           .values("kind", "target", "count"))
        stuck = await Delivery.filter(status=rules.PENDING, next_attempt_at__lt=now - STUCK_AFTER).count()
        summary = {
            "taken_at": now.isoformat(),
            "window": {"from": since.isoformat(), "until": now.isoformat()},
            "last_24h": sorted(({"kind": r["kind"], "target": r["target"], "status": r["status"],
                                 "count": r["count"]} for r in recent),
                               key=lambda r: (r["kind"], r["target"], r["status"])),
            "parked_total": sum(r["count"] for r in parked_by),
            "parked": sorted(({"kind": r["kind"], "target": r["target"], "count": r["count"]} for r in parked_by),
                             key=lambda r: (-r["count"], r["kind"], r["target"])),
            "oldest_parked": None if oldest is None else {
                "id": oldest.id, "kind": oldest.kind, "target": oldest.target,
                "created_at": oldest.created_at.isoformat(),
                "parked_at": oldest.parked_at.isoformat() if oldest.parked_at else None,
                "reason": oldest.parked_reason},
            "stuck_pending": stuck,
        }
        await DeliverySummary.create(taken_at=now, summary=summary)
        return summary

    async def take_daily_summary(self) -> dict[str, Any] | None:
        """The summary, if the last one is a day old (the job runs hourly, so a restart of the
        scheduler neither skips a day nor sends two alerts in one). None when not yet due."""
        latest = await DeliverySummary.all().order_by("-taken_at", "-id").first()
        if latest is not None and self._clock.now() - latest.taken_at < SUMMARY_EVERY - SUMMARY_SLACK:
            return None
        return await self.take_summary()

    async def latest_summary(self) -> dict[str, Any] | None:
        row = await DeliverySummary.all().order_by("-taken_at", "-id").first()
        return row.summary if row else None

    async def _row(self, delivery_id: int, conn: BaseDBAsyncClient | None = None) -> Delivery:
        query = Delivery.filter(id=delivery_id)
        row = await (query.using_db(conn) if conn else query).first()
        if row is None:
            raise DeliveryNotFound(f"投递 {delivery_id} 不存在")
        return row


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A calendar day in Beijing time, as the UTC-aware range operators mean by "that day"."""
    start = beijing_day_start(day)
    return start, start + timedelta(days=1)


def _requeued(now: datetime) -> dict[str, Any]:
    return dict(status=rules.PENDING, attempts=0, next_attempt_at=now, claimed_by=None, claimed_until=None,
                parked_reason=None, parked_at=None, updated_at=now)


def _filtered(filters: DeliveryFilters):
    if filters.status is not None and filters.status not in rules.STATUSES:
        raise DeliveryQueryInvalid("status 应为 " + "、".join(rules.STATUSES),
                                   errors=[{"field": "status", "message": "应为 " + "、".join(rules.STATUSES)}])
    query = Delivery.all()
    for name in ("status", "kind", "target"):
        value = getattr(filters, name)
        if value is not None:
            query = query.filter(**{name: value})
    if filters.created_from is not None:
        query = query.filter(created_at__gte=filters.created_from)
    if filters.created_until is not None:
        query = query.filter(created_at__lt=filters.created_until)
    return query


def _filters_record(filters: DeliveryFilters) -> dict[str, Any]:
    return {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(filters).items()
            if v is not None}


def _clip(text: str | None, length: int) -> str | None:
    return text[:length] if text else text


def _payload_context(dedupe_key: str) -> str:
    """Sealed payloads are bound to their row's dedupe key: one cannot be moved to another row."""
    return f"delivery.payload:{dedupe_key}"


def _view(row: Delivery, payload: dict[str, Any], *, detail: bool = False,
          attempts: list[DeliveryAttempt] = ()) -> DeliveryView:
    return DeliveryView(
        id=row.id, kind=row.kind, target=row.target, dedupe_key=row.dedupe_key, status=row.status,
        attempts=row.attempts, next_attempt_at=row.next_attempt_at if row.status == rules.PENDING else None,
        last_error=row.last_error, last_status_code=row.last_status_code, parked_reason=row.parked_reason,
        created_at=row.created_at, updated_at=row.updated_at, delivered_at=row.delivered_at,
        parked_at=row.parked_at, number=_number(payload), payload=payload if detail else None,
        attempt_log=[AttemptView(number=a.number, relay=a.relay, started_at=a.started_at,
                                 duration_ms=a.duration_ms, outcome=a.outcome, status_code=a.status_code,
                                 error=a.error, response_excerpt=a.response_excerpt) for a in attempts])


def _number(payload: Any) -> str | None:
    number = payload.get("number") if isinstance(payload, dict) else None
    return number if isinstance(number, str) else None


def _encode_cursor(last_id: int) -> str:
    return cursors.write(last_id)


def _decode_cursor(cursor: str) -> int:
    try:
        return cursors.read_id(cursor)
    except InvalidCursor:  # this list answers its own problem code, as documented
        raise DeliveryQueryInvalid("分页游标无效，请从第一页重新查询",
                                   errors=[{"field": "cursor", "message": "格式有误"}]) from None
