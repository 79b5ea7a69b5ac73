"""Regions (行政区划), the departments in them and regional zones: the use cases other modules call.

Other modules need three things most: ``ancestors(code)`` (pure, no database: the chain of codes
from the province down), ``path(code)`` (the same chain as stored regions, with names) and
``zones_of(code)`` (the zones a region belongs to, inherited from any ancestor).
"""
from __future__ import annotations

import csv
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.regions import rules
from domain.regions.errors import (
    DepartmentExists,
    DepartmentNotFound,
    InvalidDepartment,
    InvalidZone,
    RegionNotFound,
    ZoneNotFound,
)
from domain.regions.importer import ImportReport, RegionImport, Source
from domain.regions.models import Department, Region, Zone, ZoneRegion
from domain.shared.clock import Clock

log = logging.getLogger("govhub.regions")
SEED_DATA = Path(__file__).resolve().parent / "seed_data"
SEARCH_LIMIT = 100


@dataclass(frozen=True)
class RegionRecord:
    code: str
    name: str
    level: int
    parent_code: str | None

    @property
    def level_name(self) -> str:
        return rules.LEVEL_NAMES[self.level]


@dataclass(frozen=True)
class DepartmentRecord:
    code: str
    name: str
    region_code: str
    kind: str
    status: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ZoneRecord:
    code: str
    name: str
    region_codes: tuple[str, ...]  # the members as named; their descendants belong too


class RegionService:
    def __init__(self, clock: Clock | None = None, *, import_batch_size: int = 1000) -> None:
        self._clock = clock or Clock()
        self._batch_size = import_batch_size

    # --- codes (pure) --------------------------------------------------------------------

    @staticmethod
    def normalize(code: str) -> str:
        return rules.normalize(code)

    @staticmethod
    def ancestors(code: str) -> list[str]:
        """Codes from the province down to ``code`` itself (12-digit); InvalidRegionCode if bad."""
        return rules.ancestors(code)

    @staticmethod
    def is_within(code: str, area: str) -> bool:
        return rules.is_within(code, area)

    # --- the tree ------------------------------------------------------------------------

    async def get(self, code: str) -> RegionRecord:
        return _region(await self._region(code))

    async def children(self, code: str) -> list[RegionRecord]:
        parent = await self._region(code)
        return [_region(r) for r in await Region.filter(parent_code=parent.code).order_by("code")]

    async def provinces(self) -> list[RegionRecord]:
        return [_region(r) for r in await Region.filter(level=rules.PROVINCE).order_by("code")]

    async def path(self, code: str) -> list[RegionRecord]:
        """The stored regions from the province down to ``code``; RegionNotFound if it is not stored."""
        chain = rules.ancestors(code)
        found = {r.code: r for r in await Region.filter(code__in=chain)}
        if chain[-1] not in found:
            raise RegionNotFound(f"行政区划 {chain[-1]} 不存在")
        return [_region(found[c]) for c in chain if c in found]

    async def search(self, prefix: str, *, level: int | None = None, limit: int = 20) -> list[RegionRecord]:
        """Regions whose name starts with ``prefix``, higher levels first."""
        prefix = (prefix or "").strip()
        if not prefix:
            return []
        query = Region.filter(name__startswith=prefix)
        if level is not None:
            query = query.filter(level=level)
        rows = await query.order_by("level", "code").limit(max(1, min(limit, SEARCH_LIMIT)))
        return [_region(r) for r in rows]

    async def import_csv(self, source: Source, *,
                         on_progress: Callable[[ImportReport], None] | None = None) -> ImportReport:
        """Load a ``code,name,parent`` CSV (a path, or an iterable of lines); see importer.py."""
        run = RegionImport(now=self._clock.now(), batch_size=self._batch_size, on_progress=on_progress)
        report = await run.run(source)
        log.info("regions imported: %s", report.counts())
        return report

    async def _region(self, code: str) -> Region:
        full = rules.normalize(code)
        region = await Region.get_or_none(code=full)
        if region is None:
            raise RegionNotFound(f"行政区划 {full} 不存在")
        return region

    # --- departments ---------------------------------------------------------------------

    async def add_department(self, *, code: str, name: str, region_code: str, kind: str,
                             status: str = "active") -> DepartmentRecord:
        problems = rules.department_problems(code=code, name=name, region_code=region_code, kind=kind)
        if status not in rules.DEPARTMENT_STATUSES:
            problems.append({"field": "status", "message": "应为 active 或 inactive"})
        if problems:
            raise InvalidDepartment("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)
        region = await self._region(region_code)
        if await Department.exists(code=code):
            raise DepartmentExists(f"部门编码 {code} 已被登记")
        now = self._clock.now()
        try:
            department = await Department.create(code=code, name=name.strip(), region_code=region.code, kind=kind,
                                                 status=status, created_at=now, updated_at=now)
        except IntegrityError as exc:  # registered by someone else between the check and the insert
            raise DepartmentExists(f"部门编码 {code} 已被登记") from exc
        return _department(department)

    async def department(self, code: str) -> DepartmentRecord:
        department = await Department.get_or_none(code=code) if isinstance(code, str) else None
        if department is None:
            raise DepartmentNotFound(f"部门 {code} 不存在")
        return _department(department)

    async def departments_in(self, region_code: str, *, include_ancestors: bool = False) -> list[DepartmentRecord]:
        """The departments of a region (and, if asked, of the regions above it), highest level first."""
        codes = rules.ancestors(region_code) if include_ancestors else [rules.normalize(region_code)]
        rows = await Department.filter(region_code__in=codes, status="active").order_by("region_code", "code")
        return [_department(d) for d in rows]

    # --- zones ---------------------------------------------------------------------------

    async def define_zone(self, *, code: str, name: str, region_codes: list[str]) -> ZoneRecord:
        """Create or replace a zone and its members (idempotent)."""
        if not rules.is_zone_code(code) or not name.strip():
            raise InvalidZone("区域编码应为2到16个小写字母，名称不能为空")
        members = sorted({rules.normalize(c) for c in region_codes})
        async with in_transaction():
            await Zone.update_or_create(code=code, defaults={"name": name.strip()})
            await ZoneRegion.filter(zone_code=code).exclude(region_code__in=members).delete()
            have = set(await ZoneRegion.filter(zone_code=code).values_list("region_code", flat=True))
            await ZoneRegion.bulk_create([ZoneRegion(zone_code=code, region_code=c)
                                          for c in members if c not in have])
        return ZoneRecord(code=code, name=name.strip(), region_codes=tuple(members))

    async def zones(self) -> list[ZoneRecord]:
        return await _zone_records(await Zone.all().order_by("code"))

    async def zone(self, code: str) -> ZoneRecord:
        zone = await Zone.get_or_none(code=code) if rules.is_zone_code(code) else None
        if zone is None:
            raise ZoneNotFound(f"区域 {code} 不存在")
        return (await _zone_records([zone]))[0]

    async def zones_of(self, region_code: str) -> list[ZoneRecord]:
        """Zones the region is in, as a member or below one (a county of 浙江 is in 长三角)."""
        chain = rules.ancestors(region_code)
        codes = await ZoneRegion.filter(region_code__in=chain).distinct().values_list("zone_code", flat=True)
        return await _zone_records(await Zone.filter(code__in=codes).order_by("code"))

    async def regions_in_zone(self, zone_code: str) -> list[RegionRecord]:
        """The regions named as members (descendants belong too, without being listed)."""
        zone = await self.zone(zone_code)
        return [_region(r) for r in await Region.filter(code__in=zone.region_codes).order_by("code")]

    # --- demo data -----------------------------------------------------------------------

    async def seed_regions(self) -> dict[str, int]:
        """Load seed_data/ (README there says where it came from). Idempotent."""
        for name in ("regions.csv", "villages.csv"):
            report = await self.import_csv(SEED_DATA / name)
            if report.rejected:
                raise RuntimeError(f"seed_data/{name}: {report.rejected[:3]}")
        known = set(await Department.all().values_list("code", flat=True))
        added = [await self.add_department(**row) for row in _csv(SEED_DATA / "departments.csv")
                 if row["code"] not in known]
        zones: dict[tuple[str, str], list[str]] = {}
        for row in _csv(SEED_DATA / "zones.csv"):
            zones.setdefault((row["zone_code"], row["zone_name"]), []).append(row["region_code"])
        for (code, name), members in zones.items():
            await self.define_zone(code=code, name=name, region_codes=members)
        counts = {"regions": await Region.all().count(), "departments": len(added), "zones": len(zones)}
        log.info("demo regions seeded: %s", counts)
        return counts


def _csv(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as file:
        return list(csv.DictReader(file))


async def _zone_records(zones: list[Zone]) -> list[ZoneRecord]:
    members: dict[str, list[str]] = {}
    rows = await ZoneRegion.filter(zone_code__in=[z.code for z in zones]).order_by("region_code")
    for row in rows:
        members.setdefault(row.zone_code, []).append(row.region_code)
    return [ZoneRecord(code=z.code, name=z.name, region_codes=tuple(members.get(z.code, []))) for z in zones]


def _region(region: Region) -> RegionRecord:
    return RegionRecord(code=region.code, name=region.name, level=region.level, parent_code=region.parent_code)


def _department(department: Department) -> DepartmentRecord:
    return DepartmentRecord(code=department.code, name=department.name, region_code=department.region_code,
                            kind=department.kind, status=department.status, created_at=department.created_at,
                            updated_at=department.updated_at)
