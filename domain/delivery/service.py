"""The outbox (docs/delivery.md): deliveries written with the change that causes them, a relay that
sends them with retries (``relay.py``), and the operator's tools for what keeps failing (their
views: ``views.py``).

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

import json
import logging
import os
import random
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from domain.audit.service import Actor, AuditLog
from domain.delivery import rules
from domain.delivery.errors import (
    DeliveryInvalid,
    DeliveryNotFound,
    DeliveryNotResendable,
    DeliveryQueryInvalid,
)
from domain.delivery.models import Delivery, DeliveryAttempt, DeliverySummary
from domain.delivery.ports import Sender
from domain.delivery.relay import Relay, RelayReport
from domain.delivery.views import DeliveryFilters, DeliveryPage, DeliveryView, view_of
from domain.shared import cursors
from domain.shared.clock import Clock
from domain.shared.errors import InvalidCursor
from domain.shared.rows import insert_rows, is_row_id
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
    ordering_key: str | None = None
    ordering_position: int | None = None


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
        # kept as given, not copied: the hub's Senders port (domain/delivery/ports.py) gains the
        # notification senders after this service is built
        self.senders: Mapping[str, Sender] = senders if senders is not None else {}
        self.relay = Relay(clock=clock, senders=self.senders, payload_of=self.payload_of,
                           relay_name=relay_name or f"{socket.gethostname()}:{os.getpid()}",
                           lease_seconds=lease_seconds, concurrency=concurrency, send_timeout=send_timeout,
                           max_attempts=max_attempts, backoff_base=backoff_base, jitter=jitter,
                           record_every=record_every)

    # --- writing: the applications' and notifications' side ---------------------------------

    async def enqueue(self, *, kind: str, target: str, payload: dict, dedupe_key: str,
                      connection: BaseDBAsyncClient | None = None, ordering_key: str | None = None,
                      ordering_position: int | None = None) -> int:
        """Write one pending delivery, due now, on ``connection`` (the caller's open transaction,
        so the delivery commits or rolls back with the caller's own writes). Returns its id.

        The same ``dedupe_key`` again returns the first delivery's id and writes nothing. This
        holds under concurrency: the insert is ``ON CONFLICT DO NOTHING`` on the unique key (a
        concurrent insert of the same key waits for the first transaction), and never raises an
        integrity error that would abort the caller's PostgreSQL transaction.

        Deliveries of one ``ordering_key`` are sent in the order of ``ordering_position`` (then of
        id): one is sent only once every one before it is delivered or parked (docs/delivery.md)."""
        db = connection or connections.get("default")
        await self.enqueue_many([NewDelivery(kind=kind, target=target, payload=payload, dedupe_key=dedupe_key,
                                             ordering_key=ordering_key, ordering_position=ordering_position)],
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
                 "created_at": now, "updated_at": now, "ordering_key": i.ordering_key,
                 "ordering_position": i.ordering_position}
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

    # --- the relay (relay.py) ------------------------------------------------------------------

    async def relay_due(self, limit: int = 100) -> RelayReport:
        """Send up to ``limit`` due deliveries (``Relay.relay_due``)."""
        return await self.relay.relay_due(limit)

    async def drain(self, *, batch: int = 100, budget_seconds: float = 20.0) -> RelayReport:
        """Relay batches until nothing is due or the time budget is spent (one scheduler tick)."""
        return await self.relay.drain(batch=batch, budget_seconds=budget_seconds)

    def lease_for(self, limit: int) -> timedelta:
        return self.relay.lease_for(limit)

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
        return DeliveryPage(items=[view_of(row, self.payload_of(row)) for row in rows],
                            next_cursor=_encode_cursor(rows[-1].id) if more else None)

    async def get(self, delivery_id: int) -> DeliveryView:
        row = await self._row(delivery_id)
        attempts = await DeliveryAttempt.filter(delivery_id=row.id).order_by("id")
        return view_of(row, self.payload_of(row), detail=True, attempts=attempts)

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
        if not is_row_id(delivery_id):  # the one place every path (JSON, console) comes through
            raise DeliveryNotFound(f"投递 {delivery_id} 不存在")
        query = Delivery.filter(id=delivery_id)
        row = await (query.using_db(conn) if conn else query).first()
        if row is None:
            raise DeliveryNotFound(f"投递 {delivery_id} 不存在")
        return row


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


def _payload_context(dedupe_key: str) -> str:
    """Sealed payloads are bound to their row's dedupe key: one cannot be moved to another row."""
    return f"delivery.payload:{dedupe_key}"


def _encode_cursor(last_id: int) -> str:
    return cursors.write(last_id)


def _decode_cursor(cursor: str) -> int:
    try:
        return cursors.read_id(cursor)
    except InvalidCursor:  # this list answers its own problem code, as documented
        raise DeliveryQueryInvalid("分页游标无效，请从第一页重新查询",
                                   errors=[{"field": "cursor", "message": "格式有误"}]) from None
