"""Catalog use cases: load matters (import, admin), search and browse them, count their popularity.
The search words product teams keep (``words``: search_words.py) widen every search."""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from tortoise.transactions import in_transaction

from domain.catalog import rules, search_index
from domain.catalog import search_rules as sr
from domain.audit.service import AuditLog
from domain.catalog.errors import InvalidMatter, InvalidSearch, MatterNotFound
from domain.catalog.models import CatalogItem, Matter
from domain.catalog.ports import PopularityCounter, SharedCache
from domain.catalog.search_words import SearchWordService
from domain.regions import rules as region_rules
from domain.shared import cursors
from domain.shared.clock import Clock

log = logging.getLogger("govhub.catalog")

MATTER_FIELDS = ("code", "catalog_code", "name", "kind", "region_code", "department_code", "for_individuals",
                 "for_legal_persons", "life_events", "themes", "materials", "legal_limit_days",
                 "promised_limit_days", "fee_fen", "online_depth", "channels", "cross_province", "zones",
                 "form_schema", "instant_approval", "entry", "content_hash")
MATTER_UPDATE_FIELDS = [name for name in MATTER_FIELDS if name != "code"] + ["updated_at"]
CATALOG_UPDATE_FIELDS = ["name", "kind", "for_individuals", "for_legal_persons", "life_events", "themes", "updated_at"]
HOT_TTL = 60  # seconds a region's hot list is cached
HOT_READ_FACTOR = 4  # rows read per hot matter shown: room for the ones a channel does not offer
APPLICATION_WEIGHT = 10  # an application says more about a matter than a view


@dataclass(frozen=True)
class SearchFilters:
    region_code: str | None = None
    department_code: str | None = None
    kind: str | None = None
    audience: str | None = None  # individual | legal_person
    life_event: str | None = None
    cross_province: bool | None = None
    channel: str | None = None
    zone: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[Matter]
    next_cursor: str | None


@dataclass
class UpsertReport:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (index in the batch, reason)


class CatalogService:
    def __init__(self, *, popularity: PopularityCounter, cache: SharedCache, clock: Clock,
                 words: SearchWordService | None = None) -> None:
        self.popularity, self.cache, self.clock = popularity, cache, clock
        self.words = words or SearchWordService(clock=clock)  # without a feed: one process alone

    # --- loading ----------------------------------------------------------------------------

    async def upsert(self, records: list[dict[str, Any]]) -> UpsertReport:
        """Insert or update matters by code; unchanged rows are left alone (idempotent re-imports)."""
        report = UpsertReport()
        valid: dict[str, dict] = {}
        silent: set[str] = set()  # codes whose latest row does not say its entry
        for index, record in enumerate(records):
            try:
                normalized = rules.normalize(record)
            except rules.RecordProblems as exc:
                report.rejected.append((index, "; ".join(exc.problems)))
                continue
            valid[normalized["code"]] = normalized  # a later row of the same code wins
            (silent.discard if rules.entry_given(record) else silent.add)(normalized["code"])
        rows = await Matter.filter(code__in=list(valid)).values_list("code", "content_hash", "entry")
        for code, _, entry in rows:  # a row silent on its entry keeps the stored one
            if code in silent:
                valid[code] = rules.with_entry(valid[code], entry)
        stored = {code: content_hash for code, content_hash, _ in rows}
        writes = [r for code, r in valid.items() if stored.get(code) != r["content_hash"]]
        report.inserted = sum(1 for r in writes if r["code"] not in stored)
        report.updated = len(writes) - report.inserted
        report.unchanged = len(valid) - len(writes)
        if writes:
            async with in_transaction():
                await self._write(writes)
        return report

    async def _write(self, records: list[dict]) -> None:
        """A handful of statements per batch, whatever its size: catalog items and matters as
        INSERT ... ON CONFLICT DO UPDATE (one executemany each), their ids, their index rows.
        (Row-by-row UPDATEs made a batch of 2,000 changed rows cost 2,000+ round trips.)"""
        items = {r["catalog_code"]: r for r in records}
        await CatalogItem.bulk_create([CatalogItem(**_catalog_fields(r)) for r in items.values()],
                                      on_conflict=["code"], update_fields=CATALOG_UPDATE_FIELDS)
        await Matter.bulk_create([Matter(**_matter_fields(r)) for r in records],
                                 on_conflict=["code"], update_fields=MATTER_UPDATE_FIELDS)
        stored = {code: (matter_id, popularity) for code, matter_id, popularity in
                  await Matter.filter(code__in=[r["code"] for r in records]).values_list("code", "id", "popularity")}
        await search_index.write([(stored[r["code"]][0], sr.document(r["name"], _facets(r), stored[r["code"]][1]))
                                  for r in records])

    async def save(self, *, actor, record: dict[str, Any], request_id: str | None = None) -> Matter:
        """One matter from an administrator: created or changed, audited in the same transaction."""
        try:
            normalized = rules.normalize(record)
        except rules.RecordProblems as exc:
            raise InvalidMatter("; ".join(exc.problems),
                                errors=[{"field": p.split(":")[0], "message": p} for p in exc.problems]) from None
        before = await Matter.get_or_none(code=normalized["code"])
        if before is not None and not rules.entry_given(record):  # kept unless the editor says otherwise
            normalized = rules.with_entry(normalized, before.entry)
        if before is not None and before.content_hash == normalized["content_hash"] and before.status == "active":
            return before  # nothing changed: no write, no audit entry
        async with in_transaction():
            await self._write([normalized])
            if before is not None and before.status != "active":
                await Matter.filter(id=before.id).update(status="active")
            await AuditLog.record(actor=actor, action="matter.create" if before is None else "matter.update",
                                  target_type="matter", target_id=normalized["code"],
                                  before=_audit_view(before), after=normalized, request_id=request_id)
        return await Matter.get(code=normalized["code"])

    async def set_channels(self, *, actor, code: str, channels: list[str], request_id: str | None = None) -> Matter:
        """Offer a matter on these channels (the console's switch): the rest of it as stored, saved
        through ``save`` — the same checks, the same audit entry, nothing written if nothing changed."""
        matter = await self._get(code)
        item = await CatalogItem.get_or_none(code=matter.catalog_code)
        record = {name: getattr(matter, name) for name in MATTER_FIELDS if name != "content_hash"}
        record |= {"catalog_name": item.name if item else matter.name, "channels": list(channels)}
        return await self.save(actor=actor, record=record, request_id=request_id)

    async def retire(self, *, code: str, actor=None, request_id: str | None = None) -> Matter:
        """Stop offering a matter: it leaves search and detail; its record stays for history."""
        matter = await self._get(code)
        async with in_transaction():
            await Matter.filter(id=matter.id).update(status="retired")
            await search_index.delete([matter.id])
            if actor is not None:
                await AuditLog.record(actor=actor, action="matter.retire", target_type="matter", target_id=code,
                                      before={"status": matter.status}, after={"status": "retired"},
                                      request_id=request_id)
        matter.status = "retired"
        return matter

    # --- reading ----------------------------------------------------------------------------

    async def search(self, *, q: str | None, filters: SearchFilters, cursor: str | None = None,
                     limit: int = 20) -> Page:
        text = await self._text_query(q)
        if q and text is None:
            raise InvalidSearch("请输入要搜索的文字", errors=[{"field": "q", "message": "应包含文字或数字"}])
        hits = await search_index.search(text=text, facets=_facet_query(filters, text), after=_read_cursor(cursor),
                                         limit=limit + 1)
        more = len(hits) > limit
        hits = hits[:limit]
        by_id = {m.id: m for m in await Matter.filter(id__in=[h.id for h in hits])}
        items = [by_id[h.id] for h in hits if h.id in by_id]
        next_cursor = _write_cursor(hits[-1]) if more and hits else None
        return Page(items=items, next_cursor=next_cursor)

    async def matching_ids(self, *, q: str | None, filters: SearchFilters) -> list[int]:
        """Every matching id, unpaged (tests compare recall with LIKE; exports)."""
        text = await self._text_query(q)
        hits = await search_index.search(text=text, facets=_facet_query(filters, text),
                                         after=None, limit=None)
        return [h.id for h in hits]

    async def _text_query(self, q: str | None) -> sr.TextQuery | None:
        """The query as search reads it, with what it also means through the search words."""
        text = sr.text_query(q) if q else None
        return await self.words.expand(text) if text is not None else None

    async def matter(self, *, code: str, channel: str | None = None, count_view: bool = False) -> Matter:
        """An active matter; with ``channel``, only where that channel offers it (as search lists it)."""
        matter = await self._get(code)
        if matter.status != "active":
            raise MatterNotFound("该事项已停止办理")
        if channel is not None and channel not in matter.channels:
            raise MatterNotFound("该事项未在此渠道提供")
        if count_view:
            await self.popularity.count(matter_id=matter.id, views=1)
        return matter

    async def names_of(self, codes: list[str]) -> dict[str, str]:
        """Display names for matter codes or national catalog codes (topic entries name either)."""
        if not codes:
            return {}
        names = dict(await CatalogItem.filter(code__in=codes).values_list("code", "name"))
        names.update(await Matter.filter(code__in=codes).values_list("code", "name"))
        return names

    async def any_matter(self, *, code: str) -> Matter:
        """Active or retired: for administrators."""
        return await self._get(code)

    async def catalog_item(self, *, code: str) -> CatalogItem | None:
        return await CatalogItem.get_or_none(code=code)

    async def _get(self, code: str) -> Matter:
        matter = await Matter.get_or_none(code=code)
        if matter is None:
            raise MatterNotFound()
        return matter

    async def hot(self, *, region_code: str, channel: str | None = None, limit: int = 10) -> list[dict]:
        """The region's most used matters (its chain and national ones), cached briefly; with
        ``channel``, only those the channel offers (as search lists them: a hot matter the channel
        does not offer would open on a "not offered here" page)."""
        key = f"catalog:hot:{region_code}:{channel or '*'}:{limit}"
        cached = await self.cache.get_json(key)
        if cached is not None:
            return cached
        chain = [sr.NATIONAL] if region_code == sr.NATIONAL else [*region_rules.ancestors(region_code), sr.NATIONAL]
        # channels are a JSON list (no portable filter in SQL): read a few more, keep those offered
        rows = await (Matter.filter(region_code__in=chain, status="active").order_by("-popularity", "id")
                      .limit(limit * HOT_READ_FACTOR)
                      .values("code", "name", "region_code", "popularity", "online_depth", "channels"))
        offered = [row for row in rows if _offers(row.pop("channels"), channel)][:limit]
        await self.cache.set_json(key, offered, ttl_seconds=HOT_TTL)
        return offered

    # --- popularity -------------------------------------------------------------------------

    async def count_applications(self, matter_ids: Iterable[int]) -> None:
        """One application for each id given (ids may repeat), counted for popularity. Best effort:
        called after the applications committed, so a counter that is down costs a count, never
        the citizen's answer."""
        try:
            await self.popularity.count_applications(Counter(matter_ids))
        except Exception:  # noqa: BLE001 — Redis down or slow: popularity only
            log.warning("applications not counted for popularity", exc_info=True)

    async def flush_popularity(self) -> dict:
        """Move the counted views and applications into the database (a scheduler job). A matter
        whose popularity crosses a tier floor gets its index document rewritten in the same
        transaction, so search's tier steps and its ranking never disagree."""
        pending = await self.popularity.drain()
        matters = await Matter.filter(id__in=list(pending)) if pending else []
        rewrites, moves = [], []
        for matter in matters:
            views, applications = pending[matter.id]
            before = matter.popularity
            matter.views += views
            matter.applications += applications
            matter.popularity = matter.views + APPLICATION_WEIGHT * matter.applications
            if matter.status != "active":
                continue  # retired: no index row to keep in step
            if sr.tier_of(before) != sr.tier_of(matter.popularity):
                rewrites.append((matter.id, sr.document(matter.name, _facets(matter), matter.popularity)))
            else:
                moves.append((matter.id, matter.popularity))
        async with in_transaction():
            for matter in matters:
                await matter.save(update_fields=["views", "applications", "popularity"])
            await search_index.write(rewrites)
            await search_index.set_popularity(moves)
        return {"matters": len(matters), "tier_changes": len(rewrites)}


def _facet_query(filters: SearchFilters, text: sr.TextQuery | None) -> sr.FacetQuery:
    groups: list[list[str]] = []
    if filters.region_code:
        chain = [] if filters.region_code == sr.NATIONAL else region_rules.ancestors(filters.region_code)
        groups.append(sr.visible_region_tokens(chain))
    if filters.cross_province:
        groups.append([sr.CROSS_PROVINCE])
    for value, token in ((filters.department_code, sr.department_token), (filters.kind, sr.kind_token),
                         (filters.life_event, sr.life_event_token), (filters.zone, sr.zone_token)):
        if value:
            groups.append([token(value)])
    if filters.audience:
        groups.append([sr.audience_token(filters.audience)])
    if not groups and text is None:  # browsing everything: a clause every matter's document has
        groups.append([sr.kind_token(k) for k in rules.KINDS])
    return sr.FacetQuery(groups, channels=sr.channel_mask([filters.channel]) if filters.channel else 0)


def _audit_view(matter: Matter | None) -> dict | None:
    if matter is None:
        return None
    return {name: getattr(matter, name) for name in MATTER_FIELDS} | {"status": matter.status}


def _matter_fields(record: dict) -> dict:
    return {name: record[name] for name in MATTER_FIELDS}


def _catalog_fields(record: dict) -> dict:
    return {"code": record["catalog_code"], "name": record["catalog_name"], "kind": record["kind"],
            "for_individuals": record["for_individuals"], "for_legal_persons": record["for_legal_persons"],
            "life_events": record["life_events"], "themes": record["themes"]}


def _facets(source: Matter | dict) -> sr.Facets:
    """A matter's index facets, from the model or from its normalized record."""
    get = source.__getitem__ if isinstance(source, dict) else partial(getattr, source)
    return sr.Facets(region_code=get("region_code"), cross_province=get("cross_province"),
                     department_code=get("department_code"), kind=get("kind"),
                     for_individuals=get("for_individuals"), for_legal_persons=get("for_legal_persons"),
                     life_events=tuple(get("life_events")), channels=tuple(get("channels")), zones=tuple(get("zones")))


def _write_cursor(hit: search_index.Hit) -> str:
    return cursors.write(hit.step, hit.quality, hit.popularity, hit.id)


def _read_cursor(cursor: str | None) -> search_index.Cursor | None:
    return search_index.Cursor(*cursors.read(cursor, size=4)) if cursor else None


def _offers(channels: list[str] | None, channel: str | None) -> bool:
    return channel is None or channel in (channels or [])
