"""The access log (用证记录): append-only and hash-chained, like X-Road's message log.

Each entry's ``hash`` is SHA-256 (hex) over the previous entry's hash and the entry's own fields,
as canonical JSON::

    hash = sha256(canonical_json([prev_hash, seq, at, wallet_hash, license_id, type_code,
                                  actor_kind, actor, action, purpose, outcome]))

The first entry's ``prev_hash`` is 64 zeros. Appends lock the head row, so entries chain in order
on PostgreSQL too. Changing, removing or reordering any entry breaks every hash after it;
``verify_chain`` finds the first broken one. (Truncating the newest entries is caught by comparing
the head with a copy kept elsewhere: ``head()`` is what to publish or anchor.)
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from domain.licenses.disclosure import canonical_json
from domain.licenses.models import LicenseAccess, LicenseAccessHead
from domain.seals.rules import utc_text

GENESIS = "0" * 64
HEAD_ID = 1


@dataclass(frozen=True)
class Access:
    """One read of a license, before it is chained."""

    wallet_hash: str
    license_id: str
    type_code: str
    actor_kind: str  # department | verifier | hub | holder
    actor: str
    action: str
    purpose: str
    outcome: str  # released | refused | shown


@dataclass(frozen=True)
class ChainCheck:
    intact: bool
    entries: int
    broken_at: int | None  # the seq of the first entry whose hash does not hold


def entry_hash(prev_hash: str, seq: int, at: datetime, access: Access) -> str:
    fields = [prev_hash, seq, utc_text(at), access.wallet_hash, access.license_id, access.type_code,
              access.actor_kind, access.actor, access.action, access.purpose, access.outcome]
    return hashlib.sha256(canonical_json(fields)).hexdigest()


async def append(access: Access, at: datetime) -> LicenseAccess:
    """Append on the caller's transaction if there is one (a release and its log entry commit
    together), else on its own."""
    async with in_transaction():
        head = await LicenseAccessHead.select_for_update().get_or_none(id=HEAD_ID)
        if head is None:
            await LicenseAccessHead.get_or_create(id=HEAD_ID, defaults={"seq": 0, "hash": GENESIS})
            head = await LicenseAccessHead.select_for_update().get(id=HEAD_ID)
        seq = head.seq + 1
        at = at.replace(microsecond=0)  # the hash covers whole seconds: what every database keeps
        digest = entry_hash(head.hash, seq, at, access)
        entry = await LicenseAccess.create(seq=seq, at=at, prev_hash=head.hash, hash=digest,
                                           **access.__dict__)
        head.seq, head.hash = seq, digest
        await head.save(update_fields=["seq", "hash"])
    return entry


async def verify_chain(batch: int = 1000) -> ChainCheck:
    """Walk the whole chain in order and recompute every hash."""
    prev, expected_seq, count = GENESIS, 1, 0
    while True:
        rows = await LicenseAccess.filter(seq__gte=expected_seq).order_by("seq").limit(batch)
        if not rows:
            break
        for row in rows:
            access = Access(wallet_hash=row.wallet_hash, license_id=row.license_id, type_code=row.type_code,
                            actor_kind=row.actor_kind, actor=row.actor, action=row.action,
                            purpose=row.purpose, outcome=row.outcome)
            if row.seq != expected_seq or row.prev_hash != prev or \
                    entry_hash(prev, row.seq, row.at, access) != row.hash:
                return ChainCheck(False, count, row.seq)
            prev, expected_seq, count = row.hash, expected_seq + 1, count + 1
    head = await LicenseAccessHead.get_or_none(id=HEAD_ID)
    if head is not None and (head.seq != count or head.hash != prev):
        return ChainCheck(False, count, count + 1)  # entries after the last intact one are missing
    return ChainCheck(True, count, None)


async def head() -> tuple[int, str]:
    row = await LicenseAccessHead.get_or_none(id=HEAD_ID)
    return (row.seq, row.hash) if row else (0, GENESIS)
