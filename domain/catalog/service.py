"""Catalog use cases: load matters (import, admin), search and browse them, count their popularity."""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from domain.catalog import rules, search_index
from domain.catalog import search_rules as sr
from domain.catalog.errors import InvalidCursor, InvalidSearch, MatterNotFound
from domain.catalog.models import CatalogItem, Matter
from domain.catalog.ports import PopularityCounter, SharedCache
from domain.regions import rules as region_rules
from domain.shared.clock import Clock

MATTER_FIELDS = ("code", "catalog_code", "name", "kind", "region_code", "department_code", "for_individuals",
                 "for_legal_persons", "life_events", "themes", "materials", "legal_limit_days",
                 "promised_limit_days", "fee_fen", "online_depth", "channels", "cross_province", "zones",
                 "form_schema", "instant_approval", "content_hash")
HOT_TTL = 60  # seconds a region's hot list is cached
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
    def __init__(self, *, popularity: PopularityCounter, cache: SharedCache, clock: Clock) -> None:
        self.popularity, self.cache, self.clock = popularity, cache, clock

    # --- loading ----------------------------------------------------------------------------

    async def upsert(self, records: list[dict[str, Any]]) -> UpsertReport:
        """Insert or update matters by code; unchanged rows are left alone (idempotent re-imports)."""
        report = UpsertReport()
        valid: dict[str, dict] = {}
        for index, record in enumerate(records):
            try:
                normalized = rules.normalize(record)
            except rules.RecordProblems as exc:
                report.rejected.append((index, "; ".join(exc.problems)))
                continue
            valid[normalized["code"]] = normalized  # a later row of the same code wins
        existing = {row["code"]: row for row in
                    await Matter.filter(code__in=list(valid)).values("id", "code", "content_hash")}
        fresh = [r for code, r in valid.items() if code not in existing]
        changed = [r for code, r in valid.items() if code in existing and existing[code]["content_hash"] != r["content_hash"]]
        report.unchanged = len(valid) - len(fresh) - len(changed)
        if fresh or changed:
            async with in_transaction():
                await self._save_catalog_items(fresh + changed)
                await Matter.bulk_create([Matter(**_matter_fields(r)) for r in fresh])
                for r in changed:
                    await Matter.filter(code=r["code"]).update(**_matter_fields(r))
                await self._index([r["code"] for r in fresh + changed])
        report.inserted, report.updated = len(fresh), len(changed)
        return report

    async def _save_catalog_items(self, records: list[dict]) -> None:
        items = {r["catalog_code"]: r for r in records}
        known = set(await CatalogItem.filter(code__in=list(items)).values_list("code", flat=True))
        await CatalogItem.bulk_create([CatalogItem(**_catalog_fields(r)) for c, r in items.items() if c not in known])
        for code in known:
            await CatalogItem.filter(code=code).update(**{k: v for k, v in _catalog_fields(items[code]).items() if k != "code"})

    async def _index(self, codes: list[str]) -> None:
        matters = await Matter.filter(code__in=codes)
        await search_index.write([(m.id, sr.document(m.name, _facets(m))) for m in matters])

    async def retire(self, *, code: str) -> Matter:
        matter = await self._get(code)
        async with in_transaction():
            await Matter.filter(id=matter.id).update(status="retired")
            await search_index.delete([matter.id])
        matter.status = "retired"
        return matter

    # --- reading ----------------------------------------------------------------------------

    async def search(self, *, q: str | None, filters: SearchFilters, cursor: str | None = None,
                     limit: int = 20) -> Page:
        text = sr.text_query(q) if q else None
        if q and text is None:
            raise InvalidSearch("请输入要搜索的文字", errors=[{"field": "q", "message": "应包含文字或数字"}])
        hits = await search_index.search(text=text, facets=self._facet_query(filters), raw_q=q,
                                         after=_read_cursor(cursor), limit=limit + 1)
        more = len(hits) > limit
        hits = hits[:limit]
        by_id = {m.id: m for m in await Matter.filter(id__in=[h.id for h in hits])}
        items = [by_id[h.id] for h in hits if h.id in by_id]
        next_cursor = _write_cursor(hits[-1]) if more and hits else None
        return Page(items=items, next_cursor=next_cursor)

    async def matching_ids(self, *, q: str | None, filters: SearchFilters) -> list[int]:
        """Every matching id, unpaged (tests compare recall with LIKE; exports)."""
        hits = await search_index.search(text=sr.text_query(q) if q else None, facets=self._facet_query(filters),
                                         raw_q=q, after=None, limit=None)
        return [h.id for h in hits]

    def _facet_query(self, filters: SearchFilters) -> sr.FacetQuery:
        groups: list[list[str]] = []
        if filters.region_code:
            groups.append(sr.visible_region_tokens(region_rules.ancestors(filters.region_code)))
        if filters.cross_province:
            groups.append([sr.CROSS_PROVINCE])
        for value, token in ((filters.department_code, sr.department_token), (filters.kind, sr.kind_token),
                             (filters.life_event, sr.life_event_token), (filters.channel, sr.channel_token),
                             (filters.zone, sr.zone_token)):
            if value:
                groups.append([token(value)])
        if filters.audience:
            groups.append([sr.audience_token(filters.audience)])
        if not groups:
            groups.append([sr.kind_token(k) for k in rules.KINDS])  # no filter: every matter has a kind
        return sr.FacetQuery(groups)

    async def matter(self, *, code: str, count_view: bool = False) -> Matter:
        matter = await self._get(code)
        if matter.status != "active":
            raise MatterNotFound("该事项已停止办理")
        if count_view:
            await self.popularity.count(matter_id=matter.id, views=1)
        return matter

    async def catalog_item(self, *, code: str) -> CatalogItem | None:
        return await CatalogItem.get_or_none(code=code)

    async def _get(self, code: str) -> Matter:
        matter = await Matter.get_or_none(code=code)
        if matter is None:
            raise MatterNotFound()
        return matter

    async def hot(self, *, region_code: str, limit: int = 10) -> list[dict]:
        """The region's most used matters (its chain and national ones), cached briefly."""
        key = f"catalog:hot:{region_code}:{limit}"
        cached = await self.cache.get_json(key)
        if cached is not None:
            return cached
        chain = [*region_rules.ancestors(region_code), sr.NATIONAL]
        rows = await (Matter.filter(region_code__in=chain, status="active").order_by("-popularity", "id")
                      .limit(limit).values("code", "name", "region_code", "popularity", "online_depth"))
        await self.cache.set_json(key, rows, ttl_seconds=HOT_TTL)
        return rows

    # --- popularity -------------------------------------------------------------------------

    async def count_application(self, *, matter_id: int) -> None:
        await self.popularity.count(matter_id=matter_id, applications=1)

    async def flush_popularity(self) -> dict:
        """Move the counted views and applications into the database (a scheduler job)."""
        pending = await self.popularity.drain()
        for matter_id, (views, applications) in pending.items():
            matter = await Matter.get_or_none(id=matter_id)
            if matter is None:
                continue
            matter.views += views
            matter.applications += applications
            matter.popularity = matter.views + APPLICATION_WEIGHT * matter.applications
            await matter.save(update_fields=["views", "applications", "popularity"])
        return {"matters": len(pending)}


def _matter_fields(record: dict) -> dict:
    return {name: record[name] for name in MATTER_FIELDS}


def _catalog_fields(record: dict) -> dict:
    return {"code": record["catalog_code"], "name": record["catalog_name"], "kind": record["kind"],
            "for_individuals": record["for_individuals"], "for_legal_persons": record["for_legal_persons"],
            "life_events": record["life_events"], "themes": record["themes"]}


def _facets(matter: Matter) -> sr.Facets:
    return sr.Facets(region_code=matter.region_code, cross_province=matter.cross_province,
                     department_code=matter.department_code, kind=matter.kind,
                     for_individuals=matter.for_individuals, for_legal_persons=matter.for_legal_persons,
                     life_events=tuple(matter.life_events), channels=tuple(matter.channels), zones=tuple(matter.zones))


def _write_cursor(hit: search_index.Hit) -> str:
    raw = json.dumps([hit.quality, hit.popularity, hit.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_cursor(cursor: str | None) -> search_index.Cursor | None:
    if not cursor:
        return None
    try:
        quality, popularity, matter_id = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return search_index.Cursor(int(quality), int(popularity), int(matter_id))
    except (ValueError, TypeError):
        raise InvalidCursor("分页参数无效") from None
