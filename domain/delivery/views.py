"""What operators see of the outbox: frozen views built from the rows, the filters they query by,
and the small pure functions that build them (no I/O)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from domain.delivery import rules
from domain.delivery.models import Delivery, DeliveryAttempt
from domain.shared.clock import beijing_day_start


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


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """A calendar day in Beijing time, as the UTC-aware range operators mean by "that day"."""
    start = beijing_day_start(day)
    return start, start + timedelta(days=1)


def view_of(row: Delivery, payload: dict[str, Any], *, detail: bool = False,
          attempts: list[DeliveryAttempt] = ()) -> DeliveryView:
    return DeliveryView(
        id=row.id, kind=row.kind, target=row.target, dedupe_key=row.dedupe_key, status=row.status,
        attempts=row.attempts, next_attempt_at=row.next_attempt_at if row.status == rules.PENDING else None,
        last_error=row.last_error, last_status_code=row.last_status_code, parked_reason=row.parked_reason,
        created_at=row.created_at, updated_at=row.updated_at, delivered_at=row.delivered_at,
        parked_at=row.parked_at, number=number_in(payload), payload=payload if detail else None,
        attempt_log=[AttemptView(number=a.number, relay=a.relay, started_at=a.started_at,
                                 duration_ms=a.duration_ms, outcome=a.outcome, status_code=a.status_code,
                                 error=a.error, response_excerpt=a.response_excerpt) for a in attempts])


def number_in(payload: Any) -> str | None:
    number = payload.get("number") if isinstance(payload, dict) else None
    return number if isinstance(number, str) else None
