"""The three signed lists a verifier downloads — issuers' keys, rules, revocation batches — as
change feeds (docs/health-codes.md, "The three signed lists").

Every change of an entry gives it its list's next ``seq``, taken from the list's head row under a
row lock in the change's own transaction: a change that commits later never carries a smaller seq
than one a verifier was already given, so "everything after the seq I hold" misses nothing. Deltas
and paging are the same question (``since``, ``limit``); ``If-Modified-Since`` asks it by time.
Pages are signed by the platform seal, the trust anchor verifiers pin.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.models import Model

from domain.health import rules
from domain.health.models import FeedHead, HealthRule, IssuerKey, RevocationBatch
from domain.seals.service import PLATFORM_SEAL, SealService
from domain.shared.clock import Clock

TRUST, RULES, REVOCATIONS = "trust-list", "rules", "revocations"
PAYLOAD_TYPES = {TRUST: "govhub-health-trust-list", RULES: "govhub-health-rules",
                 REVOCATIONS: "govhub-health-revocations"}
MODELS: dict[str, type[Model]] = {TRUST: IssuerKey, RULES: HealthRule, REVOCATIONS: RevocationBatch}
DEFAULT_LIMIT, MAX_LIMIT = 200, 500


async def next_seq(name: str, now: datetime) -> int:
    """The list's next seq, inside the caller's transaction (the head row stays locked until it ends)."""
    head = await FeedHead.filter(name=name).select_for_update().first()
    if head is None:
        await FeedHead.get_or_create(name=name, defaults={"seq": 0})
        head = await FeedHead.filter(name=name).select_for_update().first()
    head.seq += 1
    head.changed_at = now
    await head.save(update_fields=["seq", "changed_at"])
    return head.seq


@dataclass(frozen=True)
class Head:
    seq: int
    changed_at: datetime | None

    def etag(self, name: str) -> str:
        return f'"{name}-{self.seq}"'


@dataclass(frozen=True)
class FeedAsk:
    since: int | None = None
    limit: int = DEFAULT_LIMIT
    modified_since: datetime | None = None  # If-Modified-Since, used only without ``since``


class Feeds:
    def __init__(self, *, clock: Clock, seals: SealService, entries: dict[str, Callable[[Any], dict]]) -> None:
        """``entries``: per list, how one row is written in it."""
        self._clock, self._seals, self._entries = clock, seals, entries

    async def head(self, name: str) -> Head:
        head = await FeedHead.get_or_none(name=name)
        return Head(seq=head.seq, changed_at=head.changed_at) if head else Head(seq=0, changed_at=None)

    async def page(self, name: str, ask: FeedAsk, head: Head | None = None) -> dict[str, Any]:
        """The signed page: entries changed after ``since`` (or after ``modified_since``), by seq.
        ``head``: the list's head when the caller has just read it (for the ETag), not read again."""
        if head is None:
            head = await self.head(name)
        query = MODELS[name].all()
        if ask.since is not None:
            query = query.filter(seq__gt=ask.since)
        elif ask.modified_since is not None:
            query = query.filter(changed_at__gt=ask.modified_since)
        limit = max(1, min(ask.limit, MAX_LIMIT))
        rows = await query.order_by("seq").limit(limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        payload = {"type": PAYLOAD_TYPES[name], "seq": head.seq, "since": ask.since,
                   "issued_at": rules.utc_text(self._clock.now()),
                   "entries": [self._entries[name](row) for row in rows], "more": more,
                   "next_since": rows[-1].seq if rows else None}
        return await self._seals.sign_object(PLATFORM_SEAL, payload)

    async def everything(self, name: str) -> list[dict[str, Any]]:
        """Every signed page of a list from the start (the online checkpoint's copy)."""
        pages, since = [], None
        while True:
            page = await self.page(name, FeedAsk(since=since, limit=MAX_LIMIT))
            pages.append(page)
            if not page["payload"]["more"]:
                return pages
            since = page["payload"]["next_since"]
