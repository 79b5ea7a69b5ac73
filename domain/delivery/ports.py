"""What the outbox needs from outside: a sender per kind of delivery, and what a try came to.

A sender makes exactly ONE attempt per call and never retries on its own: the relay's schedule
(``rules.py``) is the one retry policy for deliveries, so a sender that retried inside would
multiply it. It never raises for an outcome it can name; anything it raises anyway is recorded
as a retryable error.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from domain.delivery import rules


@dataclass(frozen=True)
class Outgoing:
    """A delivery as a sender sees it."""

    id: int
    kind: str
    target: str
    payload: dict[str, Any]
    attempt: int  # 1 for the first try
    created_at: datetime


@dataclass(frozen=True)
class SendResult:
    outcome: str                      # rules.OUTCOME_DELIVERED | OUTCOME_RETRY | OUTCOME_REJECTED
    status_code: int | None = None    # the receiver's HTTP status, if it answered
    error: str | None = None          # why it failed, in a line (recorded, shown to operators)
    retry_after: float | None = None  # seconds the receiver asked us to wait (429/503)
    response_excerpt: str | None = None  # the start of a rejecting answer, for the operator

    @classmethod
    def delivered(cls, status_code: int | None = None) -> SendResult:
        return cls(rules.OUTCOME_DELIVERED, status_code)

    @classmethod
    def retry(cls, error: str, *, status_code: int | None = None, retry_after: float | None = None) -> SendResult:
        return cls(rules.OUTCOME_RETRY, status_code, error, retry_after)

    @classmethod
    def rejected(cls, error: str, *, status_code: int | None = None, response_excerpt: str | None = None
                 ) -> SendResult:
        return cls(rules.OUTCOME_REJECTED, status_code, error, None, response_excerpt)


class Sender(Protocol):
    async def send(self, delivery: Outgoing) -> SendResult:
        """One attempt to hand ``delivery`` over. The receiver dedupes by ``delivery.id``."""


class Senders(Mapping[str, Sender]):
    """kind -> sender: the relay's one registry, created by the composition root before the
    services whose senders it holds. Notifications enqueue through the outbox, and their senders
    are the outbox's: so the registry is handed to ``DeliveryService`` first and the notification
    senders join it once ``NotificationService`` exists (bff/container.py). A kind joins once."""

    def __init__(self, senders: Mapping[str, Sender] | None = None) -> None:
        self._by_kind: dict[str, Sender] = dict(senders or {})

    def join(self, senders: Mapping[str, Sender]) -> None:
        taken = self._by_kind.keys() & senders.keys()
        if taken:
            raise ValueError(f"delivery kinds with a sender already: {sorted(taken)}")
        self._by_kind.update(senders)

    def __getitem__(self, kind: str) -> Sender:
        return self._by_kind[kind]

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_kind)

    def __len__(self) -> int:
        return len(self._by_kind)
