"""What the outbox needs from outside: a sender per kind of delivery, and what a try came to.

A sender makes exactly ONE attempt per call and never retries on its own: the relay's schedule
(``rules.py``) is the one retry policy for deliveries, so a sender that retried inside would
multiply it. It never raises for an outcome it can name; anything it raises anyway is recorded
as a retryable error.
"""
from __future__ import annotations

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
