"""Regions, departments and zones for anyone (/public/v1): what a region picker and a service
directory need before login. Reference data that changes a few times a year, so answers may be
cached by clients and CDNs for an hour."""
from __future__ import annotations

from pydantic import ConfigDict, Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse, json

from bff.common.docs import doc
from bff.common.parsing import parse_query
from bff.common.schemas import Out, Query
from domain.regions.service import DepartmentRecord, RegionRecord, ZoneRecord

bp = Blueprint("regions", url_prefix="/public/v1")
CACHE = {"Cache-Control": "public, max-age=3600"}
CODE_EXAMPLE = "330106000000"
BAD_CODE = {400: ["invalid_region_code"], 404: ["region_not_found"]}


class RegionOut(Out):
    code: str = Field(description="12-digit statistical division code", examples=[CODE_EXAMPLE])
    name: str = Field(examples=["西湖区"])
    level: int = Field(description="1 province, 2 city, 3 county, 4 township, 5 village", examples=[3])
    level_name: str = Field(examples=["county"])
    parent_code: str | None = Field(None, examples=["330100000000"])


class RegionDetail(RegionOut):
    path: list[RegionOut] = Field(description="from the province down to this region")


class RegionList(Out):
    items: list[RegionOut]


class RegionsQuery(Query):
    model_config = ConfigDict(extra="ignore")  # (as before: unknown parameters are ignored)

    q: str | None = Field(None, max_length=32, description="name prefix, e.g. 杭州")
    level: int | None = Field(None, ge=1, le=5)
    limit: int = Field(20, ge=1, le=100)


class ZoneOut(Out):
    code: str = Field(examples=["yrd"])
    name: str = Field(examples=["长三角"])
    regions: list[str] = Field(description="member regions; everything below them belongs too")


class ZoneList(Out):
    items: list[ZoneOut]


class DepartmentOut(Out):
    code: str = Field(description="unified social credit code, or a stable code", examples=["330100-market_supervision"])
    name: str = Field(examples=["杭州市市场监督管理局"])
    region_code: str = Field(examples=["330100000000"])
    kind: str = Field(examples=["market_supervision"])


class DepartmentList(Out):
    items: list[DepartmentOut]


class DepartmentsQuery(Query):
    model_config = ConfigDict(extra="ignore")

    with_ancestors: bool = Field(False, description="also the departments of the regions above")


@bp.get("/regions", ctx_public=True)
@doc("省级区划或按名称查找 Provinces, or regions by name prefix", tag="regions", ok=(200, RegionList),
     secured=False, query=RegionsQuery,
     description="Without `q`: the provinces. With `q`: regions whose name starts with it, higher levels first.")
async def regions(request: Request) -> HTTPResponse:
    query = parse_query(request, RegionsQuery)
    service = request.app.ctx.regions
    found = (await service.search(query.q, level=query.level, limit=query.limit) if query.q
             else await service.provinces())
    return json({"items": [_region(r) for r in found]}, headers=CACHE, ensure_ascii=False)


@bp.get("/regions/<code:region_code>", ctx_public=True)
@doc("行政区划及其上级 A region with its path", tag="regions", ok=(200, RegionDetail), secured=False,
     errors=BAD_CODE, description="`code` may be given with 2, 4, 6, 9 or 12 digits (`3301` is 杭州市).")
async def region(request: Request, code: str) -> HTTPResponse:
    path = await request.app.ctx.regions.path(code)
    return json({**_region(path[-1]), "path": [_region(r) for r in path]}, headers=CACHE, ensure_ascii=False)


@bp.get("/regions/<code:region_code>/children", ctx_public=True)
@doc("下级区划 The regions one level down", tag="regions", ok=(200, RegionList), secured=False,
     errors=BAD_CODE)
async def children(request: Request, code: str) -> HTTPResponse:
    found = await request.app.ctx.regions.children(code)
    return json({"items": [_region(r) for r in found]}, headers=CACHE, ensure_ascii=False)


@bp.get("/regions/<code:region_code>/departments", ctx_public=True)
@doc("区划内的部门 Departments of a region", tag="regions", ok=(200, DepartmentList), secured=False,
     query=DepartmentsQuery, errors={400: ["invalid_region_code"], 404: ["region_not_found"]},
     description="`with_ancestors=true` adds the departments of the city and province above.")
async def departments(request: Request, code: str) -> HTTPResponse:
    query = parse_query(request, DepartmentsQuery)
    service = request.app.ctx.regions
    await service.get(code)  # 404 for a region that does not exist, rather than an empty list
    found = await service.departments_in(code, include_ancestors=query.with_ancestors)
    return json({"items": [_department(d) for d in found]}, headers=CACHE, ensure_ascii=False)


@bp.get("/zones", ctx_public=True)
@doc("区域一体化板块 Regional zones (长三角, 京津冀)", tag="regions", ok=(200, ZoneList), secured=False)
async def zones(request: Request) -> HTTPResponse:
    found = await request.app.ctx.regions.zones()
    return json({"items": [_zone(z) for z in found]}, headers=CACHE, ensure_ascii=False)


def _region(region: RegionRecord) -> dict:
    return {"code": region.code, "name": region.name, "level": region.level, "level_name": region.level_name,
            "parent_code": region.parent_code}


def _department(department: DepartmentRecord) -> dict:
    return {"code": department.code, "name": department.name, "region_code": department.region_code,
            "kind": department.kind}


def _zone(zone: ZoneRecord) -> dict:
    return {"code": zone.code, "name": zone.name, "regions": list(zone.region_codes)}
