"""The relay: sends due deliveries with retries (docs/delivery.md). It leases the rows it sends
(``claimed_by``/``claimed_until``), so several relays can run at once and a relay killed mid-batch
leaves leases that run out; it records every attempt and decides each delivery's fate
(``rules.decide``): delivered, retried later, or parked for an operator."""
from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from domain.delivery import rules
from domain.delivery.models import Delivery, DeliveryAttempt
from domain.delivery.ports import Outgoing, Sender, SendResult
from domain.shared.clock import Clock

log = logging.getLogger("govhub.delivery")


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


@dataclass
class _Unsettled:
    """A batch whose outcomes are not all recorded yet: the sends done, and the tries to record them."""

    TRIES = 30  # scheduler ticks (seconds apart): a database back within minutes is waited for

    tried: list[_Tried] = field(default_factory=list)
    tries: int = 0


class Relay:
    def __init__(self, *, clock: Clock, senders: dict[str, Sender],
                 payload_of: Callable[[Delivery], dict[str, Any]], relay_name: str, lease_seconds: float,
                 concurrency: int, send_timeout: float, max_attempts: int, backoff_base: float,
                 jitter: Callable[[], float], record_every: int | None) -> None:
        """``senders``: the service's own dict, so a sender added later is used too."""
        self._clock, self.senders, self._payload_of = clock, senders, payload_of
        self._relay = relay_name[:40]
        self._lease = timedelta(seconds=lease_seconds)
        self._concurrency = concurrency
        self._send_timeout = send_timeout
        self._max_attempts = max_attempts
        self._base = backoff_base
        self._jitter = jitter
        # outcomes are recorded in groups of this size (at most this many resent after a crash)
        self._record_every = record_every or max(1, concurrency)
        # batches whose outcomes could not be recorded (the database went away mid-batch), by lease
        # token: settled first thing in the next batch, instead of waiting out their lease
        self._unsettled: dict[str, _Unsettled] = {}

    async def relay_due(self, limit: int = 100) -> RelayReport:
        """Claim up to ``limit`` due deliveries, send them (``concurrency`` at a time), record every
        attempt and decide each one's fate. Safe to run in several processes at once.

        Outcomes are recorded in small groups as they come in (one transaction per group rather
        than per delivery: commits are what bounds the relay). A relay killed before recording a
        group leaves those rows leased; they are sent again after the lease, and deduped."""
        await self.settle_lost_batches()
        token = f"{self._relay}:{uuid.uuid4().hex[:12]}"
        lost = self._unsettled[token] = _Unsettled()  # until the claim's outcome is known
        claimed = await self._claim(token, limit)
        if not claimed:
            del self._unsettled[token]
            return RelayReport()
        gate = asyncio.Semaphore(self._concurrency)
        done: list[_Tried] = []
        fates: Counter[str] = Counter()

        async def flush() -> None:
            group = done[:]
            done.clear()
            if lost.tried:  # the database is already known to be gone: keep the rest for later
                lost.tried.extend(group)
                return
            try:
                fates.update(await self._record(group, token))
            except Exception:
                log.warning("%s outcomes not recorded (kept for the next batch)", len(group), exc_info=True)
                lost.tried.extend(group)

        async def one(row: Delivery) -> None:
            async with gate:
                done.append(await self._try(row))
            if len(done) >= self._record_every:
                await flush()

        await asyncio.gather(*(one(row) for row in claimed))
        await flush()
        if not lost.tried:
            del self._unsettled[token]
        return RelayReport(claimed=len(claimed), delivered=fates[rules.DELIVERED],
                           retrying=fates[rules.PENDING], parked=fates[rules.PARKED])

    async def drain(self, *, batch: int = 100, budget_seconds: float = 20.0) -> RelayReport:
        """Relay batches until nothing is due or the time budget is spent (one scheduler tick)."""
        deadline = time.monotonic() + budget_seconds
        total = RelayReport()
        while True:
            report = await self.relay_due(batch)
            total += report
            # a short batch means nothing more was due, unless it delivered something: then the
            # next of that key in order may be due now (rules.held_back), and goes in this tick
            done = report.claimed == 0 or (report.claimed < batch and not report.delivered)
            if done or time.monotonic() >= deadline:
                return total

    def lease_for(self, limit: int) -> timedelta:
        """Long enough for the whole batch even if every send runs to its timeout."""
        rounds = -(-limit // self._concurrency)
        return max(self._lease, timedelta(seconds=rounds * self._send_timeout + 30))

    async def settle_lost_batches(self) -> None:
        """Record what earlier batches sent but could not record (the database was gone), then free
        their rows still leased and unsent, so they are due again now rather than after the lease.
        A batch still not settled is tried again next time, up to ``_Unsettled.TRIES`` times; after
        that its lease runs out as if this relay had died (its sends are repeated, and deduped)."""
        for token, lost in list(self._unsettled.items()):
            try:
                if lost.tried:
                    await self._record(lost.tried, token)
                    lost.tried = []
                await (Delivery.filter(claimed_by=token, status=rules.PENDING)
                       .update(claimed_by=None, claimed_until=None))
            except Exception as exc:
                lost.tries += 1
                if lost.tries < _Unsettled.TRIES:
                    log.warning("batch %s still not settled (%s: %s)", token, type(exc).__name__, exc)
                    continue
                log.error("batch %s given up after %s tries: its lease will run out", token, lost.tries)
            del self._unsettled[token]

    async def _claim(self, token: str, limit: int) -> list[Delivery]:
        now = self._clock.now()
        free = Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
        async with in_transaction() as conn:
            ids = await _due_in_order(conn, now, limit)
            if not ids:
                return []
            # the lease condition again: on SQLite (no row locks) another relay may have read the same rows
            claimed = await (Delivery.filter(free, id__in=ids, status=rules.PENDING)
                             .using_db(conn).update(claimed_by=token, claimed_until=now + self.lease_for(limit)))
        rows = await Delivery.filter(claimed_by=token).order_by("next_attempt_at", "id")
        if claimed != len(ids):
            log.info("claimed %s of %s due deliveries (another relay took the rest)", claimed, len(ids))
        return rows

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
        outgoing = Outgoing(id=row.id, kind=row.kind, target=row.target, payload=self._payload_of(row),
                            attempt=number, created_at=row.created_at)
        try:
            return await asyncio.wait_for(sender.send(outgoing), timeout=self._send_timeout)
        except TimeoutError:
            return SendResult.retry(f"no answer within {self._send_timeout:g} s")
        except Exception as exc:  # a sender's bug must not stop the relay: retried, and logged in full
            log.exception("delivery %s: sender for %s raised", row.id, row.kind)
            return SendResult.retry(f"{type(exc).__name__}: {exc}")


# The due deliveries a relay may claim: free of any lease, and not held back by their key's order
# (rules.held_back, the same rule in SQL): nothing of their key before them still pending, and
# nothing of their key being sent. The order check is in the query, before LIMIT, so that rows held
# back never fill a batch. On PostgreSQL the rows are locked (SKIP LOCKED: relays do not queue).
_DUE = """
SELECT d.id FROM deliveries d
WHERE d.status = '{pending}' AND d.next_attempt_at <= {now}
  AND (d.claimed_until IS NULL OR d.claimed_until < {now})
  AND (d.ordering_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM deliveries e
    WHERE e.ordering_key = d.ordering_key AND e.status = '{pending}' AND e.id <> d.id
      AND (e.claimed_until >= {now}
           OR COALESCE(e.ordering_position, 0) < COALESCE(d.ordering_position, 0)
           OR (COALESCE(e.ordering_position, 0) = COALESCE(d.ordering_position, 0) AND e.id < d.id))))
ORDER BY d.next_attempt_at, d.id
LIMIT {limit}"""


async def _due_in_order(conn: BaseDBAsyncClient, now: datetime, limit: int) -> list[int]:
    postgres = conn.capabilities.dialect == "postgres"
    sql = _DUE.format(pending=rules.PENDING, now="$1" if postgres else "?1", limit="$2" if postgres else "?2")
    if postgres:
        sql += " FOR UPDATE OF d SKIP LOCKED"
    at = Delivery._meta.fields_map["next_attempt_at"].to_db_value(now, Delivery)  # stored as Tortoise stores it
    _, rows = await conn.execute_query(sql, [at, limit])
    return [row["id"] for row in rows]


def _clip(text: str | None, length: int) -> str | None:
    return text[:length] if text else text
