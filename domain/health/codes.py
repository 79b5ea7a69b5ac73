"""Making a code (赋码) and taking codes back (撤销).

A citizen's code for a region: that region's making rules in force, run on the facts of the pooled
records, give the colour and its reasons; the region's key signs it (issuers.py); it becomes the
person's one current code there. A code that no longer tells the truth is revoked into a batch of
hashed credential ids: when a newer code for the same person and region is more severe (an old
green code must not keep opening doors offline), when a region pushes a positive test of the
person, or when the region revokes it itself.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.health import feeds, hcert, rules
from domain.health.errors import DeclarationRequired, RevocationInvalid, RulesMissing
from domain.health.issuers import Issuers
from domain.health.models import HealthCode, RevocationBatch
from domain.health.records import Records
from domain.health.rulebook import Rulebook
from domain.shared.clock import Clock
from domain.shared.errors import Conflict

log = logging.getLogger("govhub.health")
MAX_REVOKE = 1000
STORE_ATTEMPTS = 8


@dataclass(frozen=True)
class CodeView:
    credential: str  # the HC1 text the QR code shows
    credential_id: str
    region: str
    colour: str
    reasons: tuple[str, ...]
    issued_at: datetime
    valid_until: datetime
    kid: str
    revoked: bool


def batch_entry(batch: RevocationBatch) -> dict[str, Any]:
    """A batch as the revocation list carries it (docs/health-codes.md)."""
    return {"batch_id": batch.batch_id, "region": batch.region, "hash_type": "SHA256-128",
            "hashes": [] if batch.deleted else list(batch.hashes), "created_at": rules.utc_text(batch.created_at),
            "expires": rules.utc_text(batch.expires), "deleted": batch.deleted, "seq": batch.seq}


class Codes:
    def __init__(self, *, clock: Clock, records: Records, rulebook: Rulebook, issuers: Issuers,
                 lifetime: timedelta) -> None:
        self._clock, self._records, self._rulebook, self._issuers = clock, records, rulebook, issuers
        self.lifetime = lifetime

    async def make(self, *, person_id: str, name: str, id_number: str, region: str) -> CodeView:
        now = self._clock.now()
        pooled = await self._records.for_rules(id_number)
        if not any(r.kind == "declaration" for r in pooled):
            raise DeclarationRequired(f"申领健康码前请先填报近 {rules.TRIP_DAYS} 天的健康信息和行程")
        making = await self._rulebook.making_rules(region, now)
        if not making:
            raise RulesMissing(f"地区 {region} 尚未发布赋码规则")
        known = rules.facts(pooled, now)
        colour = rules.make_colour(making, {"facts": known, "external": {"validationClock": rules.utc_text(now),
                                                                         "region": region}})
        negative = known["negative_test_at"]
        health = hcert.HealthPass(region=region, colour=colour.colour, masked_name=hcert.mask_name(name),
                                  credential_id=rules.new_credential_id(region), valid_from=now,
                                  valid_until=now + self.lifetime,
                                  last_negative_test=datetime.fromisoformat(negative) if negative else None)
        text, key, health = await self._issuers.sign(region=region, health=health, issued_at=now,
                                                     lifetime=self.lifetime)
        code = await self._store(person_id=person_id, subject=self._records.subject_hash(id_number), health=health,
                                 colour=colour, text=text, kid=key.kid, now=now)
        log.info("health code made: region %s colour %s rules %s", region, colour.colour, list(colour.rules))
        return _view(code)

    async def current(self, *, person_id: str) -> list[CodeView]:
        rows = await HealthCode.filter(person_id=person_id, current_key__not_isnull=True).order_by("region")
        return [_view(row) for row in rows]

    async def revoke(self, *, region: str, credential_ids: list[str]) -> dict[str, Any]:
        """A region takes back codes it issued (by credential id): unknown or foreign ids are refused,
        none revoked; ids already revoked are counted and left."""
        if not 1 <= len(credential_ids) <= MAX_REVOKE:
            raise RevocationInvalid(f"每次 1–{MAX_REVOKE} 个", errors=[{"field": "credential_ids", "message": "个数"}])
        async with in_transaction():
            rows = await HealthCode.filter(credential_id__in=sorted(set(credential_ids))).select_for_update()
            foreign = sorted(set(credential_ids) - {r.credential_id for r in rows if r.region == region})
            if foreign:
                raise RevocationInvalid("只能撤销本地区签发的健康码", unknown=foreign[:20],
                                        errors=[{"field": "credential_ids", "message": "含非本地区或不存在的凭证"}])
            already = sum(1 for r in rows if r.revoked_at is not None)
            batch = await self._revoke_rows(region, [r for r in rows if r.revoked_at is None])
        return {"revoked": len(batch.hashes) if batch else 0, "batch_id": batch.batch_id if batch else None,
                "already_revoked": already}

    async def revoke_subject(self, subject_hash: str) -> int:
        """Every still-valid code of a person (a region learnt something that makes them untrue)."""
        async with in_transaction():
            now = self._clock.now()
            rows = await HealthCode.filter(subject_hash=subject_hash, revoked_at__isnull=True,
                                           valid_until__gt=now).select_for_update()
            revoked = 0
            for region in sorted({r.region for r in rows}):
                batch = await self._revoke_rows(region, [r for r in rows if r.region == region])
                revoked += len(batch.hashes) if batch else 0
        return revoked

    async def drop_expired_batches(self) -> int:
        """A batch whose codes have all expired protects nothing: marked deleted, so verifiers drop it."""
        now, dropped = self._clock.now(), 0
        for batch in await RevocationBatch.filter(deleted=False, expires__lte=now):
            async with in_transaction():
                batch.deleted, batch.changed_at = True, now
                batch.seq = await feeds.next_seq(feeds.REVOCATIONS, now)
                await batch.save(update_fields=["deleted", "changed_at", "seq"])
            dropped += 1
        return dropped

    async def _store(self, *, person_id: str, subject: str, health: hcert.HealthPass, colour: rules.Colour,
                     text: str, kid: str, now: datetime) -> HealthCode:
        current_key = f"{person_id}:{health.region}"
        # Makes at once for one person and region: each losing insert tries again on top of the newest
        # winner (a row lock waited on re-reads a row that is no longer current, so a round can lose
        # again); every round one of them wins, so a few rounds serve a person's own parallel taps.
        for attempt in range(STORE_ATTEMPTS):
            try:
                async with in_transaction():
                    previous = await HealthCode.filter(current_key=current_key).select_for_update().first()
                    if previous is not None:
                        previous.current_key = None
                        await previous.save(update_fields=["current_key"])
                        if (previous.revoked_at is None and previous.valid_until > now
                                and rules.SEVERITY[colour.colour] > rules.SEVERITY[previous.colour]):
                            await self._revoke_rows(health.region, [previous])
                    return await HealthCode.create(
                        credential_id=health.credential_id, credential_hash=rules.credential_hash(health.credential_id),
                        person_id=person_id, subject_hash=subject, region=health.region, current_key=current_key,
                        colour=colour.colour, reasons=list(colour.reasons), kid=kid, credential=text, issued_at=now,
                        valid_until=health.valid_until)
            except IntegrityError:
                if attempt == STORE_ATTEMPTS - 1:
                    raise Conflict("健康码正在生成，请稍后再试") from None
        raise AssertionError("unreachable")

    async def _revoke_rows(self, region: str, rows: list[HealthCode]) -> RevocationBatch | None:
        """One batch for these codes (inside the caller's transaction)."""
        if not rows:
            return None
        now = self._clock.now()
        for row in rows:
            row.revoked_at = now
            await row.save(update_fields=["revoked_at"])
        return await RevocationBatch.create(
            batch_id=uuid.uuid4().hex, region=region, hashes=sorted(r.credential_hash for r in rows),
            expires=max(r.valid_until for r in rows), deleted=False, created_at=now,
            seq=await feeds.next_seq(feeds.REVOCATIONS, now), changed_at=now)


def _view(row: HealthCode) -> CodeView:
    return CodeView(credential=row.credential, credential_id=row.credential_id, region=row.region, colour=row.colour,
                    reasons=tuple(row.reasons), issued_at=row.issued_at, valid_until=row.valid_until, kid=row.kid,
                    revoked=row.revoked_at is not None)

