"""The message log (消息日志), as X-Road keeps one: every call through the exchange (and every
identity verification) is recorded before its answer leaves — who called, which service, for
whom and why, the four timestamps, sizes, status, fault — with bodies only as SHA-256 digests.

Records are hash-chained (each record's ``hash`` covers the previous one's and its own fields as
canonical JSON; the first ``prev_hash`` is 64 zeros) and written in batches (``GroupCommit``: a
call waits only for the commit of the batch it joined). A scheduled job time-stamps what is not
yet stamped: one RFC 3161 token over the hash of the batch's last record, which chains all before
it. If records wait for a timestamp longer than allowed, time-stamping has failed and the exchange
refuses new calls (``is_open``), saying why: a call that cannot be proven later does not cross.
``verify`` walks the chain and checks every token (``govhub sharing verify-log``).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from tortoise.functions import Count
from tortoise.transactions import in_transaction

from domain.seals.rules import canonical_json
from domain.shared.clock import Clock
from domain.shared.errors import UpstreamError
from domain.shared.group_commit import GroupCommit
from domain.shared.memo import Memo
from domain.shared.rows import insert_rows
from domain.sharing import rules
from domain.sharing.models import DataUse, ExchangeMessage, MessageLogHead, MessageLogStamp
from domain.sharing.ports import TimeStamper, TokenVerifier

log = logging.getLogger("govhub.sharing.log")
HEAD_ID = 1
STAMP_BATCH = 10_000  # records per token at most
OPEN_SECONDS = 1.0  # how stale the exchange's view of "is time-stamping healthy" may be


@dataclass(frozen=True)
class Record:
    """One call, before it is chained. Times are aware UTC."""

    kind: str  # exchange | identity_verification
    message_id: str
    request_id: str
    client: str
    service: str
    grant_id: str | None
    consumer: str
    provider: str
    user_id: str | None
    issue: str | None
    subject_hash: str | None
    method: str
    path: str
    fields_returned: tuple[str, ...]
    request_in_at: datetime
    request_out_at: datetime | None
    response_in_at: datetime | None
    response_out_at: datetime
    request_bytes: int
    response_bytes: int
    request_digest: str
    response_digest: str
    request_hash: str
    status: int
    fault: str | None
    uses: tuple[dict, ...] = field(default=(), compare=False)  # DataUse rows written with it


@dataclass(frozen=True)
class LogCheck:
    intact: bool
    records: int
    stamps: int
    broken_at: int | None  # the seq of the first record whose hash does not hold
    bad_stamps: tuple[str, ...]  # "stamp <id>: why"
    unstamped: int

    @property
    def ok(self) -> bool:
        return self.intact and not self.bad_stamps


@dataclass(frozen=True)
class StampView:
    id: int
    first_seq: int
    last_seq: int
    digest: str  # hex: the hash of record last_seq, the token's message imprint
    token: bytes  # DER ContentInfo (openssl ts -verify -token_in)
    stamped_at: datetime


def digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def record_hash(prev_hash: str, seq: int, record: Record) -> str:
    values = asdict(record)
    values.pop("uses")
    for name in ("request_in_at", "request_out_at", "response_in_at", "response_out_at"):
        values[name] = _utc(values[name])
    values["fields_returned"] = list(values["fields_returned"])
    return hashlib.sha256(canonical_json([prev_hash, seq, values])).hexdigest()


class MessageLog:
    def __init__(self, *, clock: Clock, stamper: TimeStamper, verifier: TokenVerifier,
                 max_unstamped: timedelta) -> None:
        """``max_unstamped``: how long a record may wait for its timestamp before the exchange fails closed."""
        self.clock, self.stamper, self.verifier, self.max_unstamped = clock, stamper, verifier, max_unstamped
        self._batches: GroupCommit[Record, None] = GroupCommit(
            write_batch=self._write_batch, write_one=self._write_one, writers=1, max_batch=256,
            name="sharing.message_log")
        self._oldest: Memo[str, datetime | None] = Memo(seconds=OPEN_SECONDS)

    async def append(self, record: Record) -> None:
        """Returns once the record (and its data uses) are committed in the chain."""
        await self._batches.write(record)

    async def is_open(self) -> bool:
        oldest = await self._oldest.get("oldest", _oldest_unstamped)
        return rules.log_open(oldest, self.clock.now(), self.max_unstamped)

    async def stamp_pending(self) -> int:
        """Time-stamp what is unstamped (a scheduled job); how many records the token covers.
        A failure is logged and tried again at the next tick; the records keep waiting."""
        pending = await ExchangeMessage.filter(stamp_id=None).order_by("seq").limit(STAMP_BATCH).values("seq", "hash")
        if not pending:
            return 0
        first, last = pending[0], pending[-1]
        try:
            token = await self.stamper.stamp(bytes.fromhex(last["hash"]))
        except UpstreamError as error:
            log.warning("time-stamping failed (%s): %d records wait since seq %d", error.detail, len(pending),
                        first["seq"])
            return 0
        async with in_transaction():
            stamp = await MessageLogStamp.create(first_seq=first["seq"], last_seq=last["seq"], digest=last["hash"],
                                                 token=token, stamped_at=self.clock.now())
            await ExchangeMessage.filter(seq__gte=first["seq"], seq__lte=last["seq"], stamp_id=None).update(
                stamp_id=stamp.id)
        self._oldest.clear()
        return len(pending)

    async def verify(self, batch: int = 1000) -> LogCheck:
        """Recompute the chain in order and check every timestamp token against its record."""
        prev, expected, count, broken = rules.GENESIS, 1, 0, None
        hashes: dict[int, str] = {}
        while broken is None:
            rows = await ExchangeMessage.filter(seq__gte=expected).order_by("seq").limit(batch)
            if not rows:
                break
            for row in rows:
                if row.seq != expected or row.prev_hash != prev or record_hash(prev, row.seq, _record_of(row)) != row.hash:
                    broken = row.seq
                    break
                hashes[row.seq] = row.hash
                prev, expected, count = row.hash, expected + 1, count + 1
        head = await MessageLogHead.get_or_none(id=HEAD_ID)
        if broken is None and head is not None and (head.seq != count or head.hash != prev):
            broken = count + 1  # records after the last intact one are missing
        bad = []
        stamps = await MessageLogStamp.all().order_by("id")
        for stamp in stamps:
            if hashes.get(stamp.last_seq) != stamp.digest:
                bad.append(f"stamp {stamp.id}: covers seq {stamp.last_seq}, whose hash is not the one stamped")
                continue
            try:
                self.verifier.verify(bytes(stamp.token), bytes.fromhex(stamp.digest))
            except ValueError as why:
                bad.append(f"stamp {stamp.id}: {why}")
        unstamped = await ExchangeMessage.filter(stamp_id=None).count()
        return LogCheck(broken is None, count, len(stamps), broken, tuple(bad), unstamped)

    async def calls_by_consumer(self, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
        """How many records [since, until) holds (by ``request_in_at``, indexed), by kind and consumer."""
        found = await (ExchangeMessage.filter(request_in_at__gte=since, request_in_at__lt=until)
                       .annotate(n=Count("id")).group_by("kind", "consumer").values_list("kind", "consumer", "n"))
        counts: dict[str, dict[str, int]] = {}
        for kind, consumer, n in found:
            counts.setdefault(kind, {})[consumer] = n
        return counts

    async def stamps(self) -> list[StampView]:
        """Every timestamp, oldest first (to verify one with standard tools: docs/sharing.md)."""
        return [StampView(s.id, s.first_seq, s.last_seq, s.digest, bytes(s.token), s.stamped_at)
                for s in await MessageLogStamp.all().order_by("id")]

    def forget(self) -> None:
        self._oldest.clear()

    async def _write_one(self, record: Record) -> None:
        await self._write_batch([record])

    async def _write_batch(self, records: Sequence[Record]) -> list[None]:
        async with in_transaction() as conn:
            head = await MessageLogHead.select_for_update().using_db(conn).get_or_none(id=HEAD_ID)
            if head is None:
                await MessageLogHead.get_or_create(id=HEAD_ID, defaults={"seq": 0, "hash": rules.GENESIS},
                                                   using_db=conn)
                head = await MessageLogHead.select_for_update().using_db(conn).get(id=HEAD_ID)
            seq, prev, rows = head.seq, head.hash, []
            for record in records:
                seq += 1
                chained = record_hash(prev, seq, record)
                rows.append(_row(record, seq, prev, chained))
                prev = chained
            await insert_rows(ExchangeMessage, rows, connection=conn)
            await insert_rows(DataUse, [use for r in records for use in r.uses], connection=conn)
            head.seq, head.hash = seq, prev
            await head.save(using_db=conn, update_fields=["seq", "hash"])
        return [None] * len(records)


async def _oldest_unstamped() -> datetime | None:
    row = await ExchangeMessage.filter(stamp_id=None).order_by("seq").first().values("request_in_at")
    return row["request_in_at"] if row else None


def _row(record: Record, seq: int, prev: str, chained: str) -> dict:
    values = asdict(record)
    values.pop("uses")
    values["fields_returned"] = list(values["fields_returned"])
    return {**values, "seq": seq, "prev_hash": prev, "hash": chained, "stamp_id": None}


def _record_of(row: ExchangeMessage) -> Record:
    names = [f for f in Record.__dataclass_fields__ if f != "uses"]
    values = {name: getattr(row, name) for name in names}
    values["fields_returned"] = tuple(values["fields_returned"])
    return Record(**values)


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat(timespec="microseconds")
