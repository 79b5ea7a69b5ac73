"""Pure decisions of the outbox: what an outcome means, when to try again, when to give up.

The schedule (docs/delivery.md has it as a table): the n-th failed try waits
``min(CAP, BASE * 2**(n-1))`` seconds, drawn with "equal jitter" between half of that and all of it,
so that a department coming back after an outage is not hit by every relay at the same second.
A ``Retry-After`` from the receiver is honoured when it asks for longer (capped at CAP). After
``MAX_ATTEMPTS`` tries the delivery is parked for an operator: about three and a half hours of
trying in all, enough to ride out a department's evening maintenance window.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

BASE_SECONDS = 10.0
CAP_SECONDS = 3600.0
MAX_ATTEMPTS = 12

PENDING, DELIVERED, PARKED = "pending", "delivered", "parked"
STATUSES = (PENDING, DELIVERED, PARKED)

# what a try came to (recorded on each attempt)
OUTCOME_DELIVERED = "delivered"  # the receiver said yes (2xx)
OUTCOME_RETRY = "retry"          # connection error, timeout, 5xx, 429: worth another try
OUTCOME_REJECTED = "rejected"    # another 4xx: the receiver said no; trying again changes nothing
OUTCOME_NO_SENDER = "no_sender"  # no sender for this kind is installed: parked, never dropped
OUTCOMES = (OUTCOME_DELIVERED, OUTCOME_RETRY, OUTCOME_REJECTED, OUTCOME_NO_SENDER)

NODE_KINDS = ("node.application.submitted", "node.application.resubmitted", "node.application.withdrawn")
NOTIFY_KINDS = ("notify.wechat", "notify.alipay", "notify.push", "notify.sms")
_KIND = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


def outcome_of_status(status_code: int) -> str:
    """An HTTP answer's meaning for a delivery (GOV.UK Notify's rule: only 5xx and 429 retry)."""
    if 200 <= status_code < 300:
        return OUTCOME_DELIVERED
    if status_code == 429 or status_code >= 500:
        return OUTCOME_RETRY
    return OUTCOME_REJECTED  # 3xx too: a receiver that redirects a signed POST is misconfigured


def backoff_seconds(failed_attempts: int, jitter: float, *, base: float = BASE_SECONDS,
                    cap: float = CAP_SECONDS) -> float:
    """How long to wait after the ``failed_attempts``-th failed try. ``jitter`` is a random
    number in [0, 1) given by the caller (so this stays pure): 0 waits half the step, 1 all of it."""
    step = min(cap, base * 2 ** max(0, failed_attempts - 1))
    return step / 2 + step / 2 * min(max(jitter, 0.0), 1.0)


@dataclass(frozen=True)
class Decision:
    status: str                      # pending (try again) | delivered | parked
    next_attempt_at: datetime | None  # when pending
    parked_reason: str | None = None


def decide(*, outcome: str, attempts: int, now: datetime, jitter: float, retry_after: float | None = None,
           error: str | None = None, max_attempts: int = MAX_ATTEMPTS, base: float = BASE_SECONDS,
           cap: float = CAP_SECONDS) -> Decision:
    """What becomes of a delivery after its ``attempts``-th try ended in ``outcome``."""
    if outcome == OUTCOME_DELIVERED:
        return Decision(DELIVERED, None)
    if outcome == OUTCOME_REJECTED:
        return Decision(PARKED, None, f"rejected by the receiver: {error or 'no detail'}"[:500])
    if outcome == OUTCOME_NO_SENDER:
        return Decision(PARKED, None, f"no sender installed for this kind: {error or ''}".rstrip(": ")[:500])
    if attempts >= max_attempts:
        return Decision(PARKED, None, f"gave up after {attempts} attempts: {error or 'no detail'}"[:500])
    wait = backoff_seconds(attempts, jitter, base=base, cap=cap)
    if retry_after is not None and retry_after > wait:
        wait = min(retry_after, cap)
    return Decision(PENDING, now + timedelta(seconds=wait))


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """``Retry-After``: delay-seconds or an HTTP date (RFC 9110). None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    from email.utils import parsedate_to_datetime  # stdlib; only needed for the rare date form

    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def schedule_table(max_attempts: int = MAX_ATTEMPTS) -> list[tuple[int, float, float]]:
    """(failed attempt, shortest wait, longest wait) for each retry: the docs' table."""
    return [(n, backoff_seconds(n, 0.0), backoff_seconds(n, 1.0)) for n in range(1, max_attempts)]


def enqueue_problems(*, kind: object, target: object, payload: object, dedupe_key: object) -> list[dict[str, str]]:
    """One entry per bad argument of ``enqueue`` (a programming error of the caller, said clearly)."""
    problems = []
    if not isinstance(kind, str) or len(kind) > 64 or not _KIND.match(kind):
        problems.append({"field": "kind", "message": "应为点分小写名称，如 node.application.submitted"})
    if not isinstance(target, str) or not 1 <= len(target) <= 64:
        problems.append({"field": "target", "message": "应为1到64个字符"})
    if not isinstance(payload, dict):
        problems.append({"field": "payload", "message": "应为JSON对象"})
    if not isinstance(dedupe_key, str) or not 1 <= len(dedupe_key) <= 200:
        problems.append({"field": "dedupe_key", "message": "应为1到200个字符"})
    return problems


# --- order within a key (docs/delivery.md, "Order") ------------------------------------------------
# Deliveries that share an ``ordering_key`` (a citizen's messages about one application) reach their
# receivers in the order of their ``ordering_position`` (the message's place in the application's
# history), ties broken by id; deliveries of different keys, or of none, are never held up by each other.


@dataclass(frozen=True)
class Queued:
    """What the order rule needs to know of a delivery."""

    id: int
    ordering_key: str | None
    position: int | None
    status: str
    leased: bool  # a relay holds it now (claimed_until in the future)


def precedes(earlier: Queued, later: Queued) -> bool:
    """Does ``earlier`` come before ``later`` in their key's order?"""
    return (earlier.position or 0, earlier.id) < (later.position or 0, later.id)


def held_back(row: Queued, others: list[Queued]) -> bool:
    """May ``row`` not be sent now? Held back while a delivery of its key that comes before it is
    still pending (waiting for a retry, or being sent), and while any other of its key is being
    sent (an earlier one put back in the queue by an operator must not overtake a later one in flight).
    Delivered and parked ones hold nothing back: a parked one will not be sent unless resent."""
    if row.ordering_key is None:
        return False
    for other in others:
        if other.id == row.id or other.ordering_key != row.ordering_key or other.status != PENDING:
            continue
        if other.leased or precedes(other, row):
            return True
    return False


def sendable(rows: list[Queued]) -> list[int]:
    """The ids among ``rows`` (every delivery of the keys concerned) a relay may claim now, if
    due: what ``Relay._claim`` asks the database in one query (relay.py, ``_DUE``)."""
    return [row.id for row in rows if row.status == PENDING and not row.leased and not held_back(row, rows)]
