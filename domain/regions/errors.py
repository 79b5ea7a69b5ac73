"""Typed errors of regions, departments and zones, each with a stable ``code``."""
from __future__ import annotations

from domain.shared.errors import Conflict, InvalidInput, NotFound


class InvalidRegionCode(InvalidInput):
    code = "invalid_region_code"
    title = "行政区划代码有误"


class RegionNotFound(NotFound):
    code = "region_not_found"
    title = "未找到该行政区划"


class InvalidDepartment(InvalidInput):
    code = "invalid_department"
    title = "部门信息有误"


class DepartmentNotFound(NotFound):
    code = "department_not_found"
    title = "未找到该部门"


class DepartmentExists(Conflict):
    code = "department_exists"
    title = "该部门已登记"


class ZoneNotFound(NotFound):
    code = "zone_not_found"
    title = "未找到该区域"


class InvalidZone(InvalidInput):
    code = "invalid_zone"
    title = "区域信息有误"
