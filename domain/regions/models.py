"""Tables owned by regions: the division tree, the departments in it and the regional zones.

No foreign keys between them on purpose: the national list is reference data replaced by bulk
imports (codes get retired and reissued), and the importer checks every parent itself.
"""
from __future__ import annotations

from tortoise import fields, models


class Region(models.Model):
    """An administrative division (行政区划) at one of five levels, keyed by its 12-digit statistical
    division code. ``level`` and ``parent_code`` follow from the code's digits (``rules.py``);
    they are stored so that children and levels are one indexed query."""

    code = fields.CharField(max_length=12, primary_key=True)
    name = fields.CharField(max_length=128)
    level = fields.SmallIntField()  # 1 province, 2 city, 3 county, 4 township, 5 village
    parent_code = fields.CharField(max_length=12, null=True, db_index=True)
    updated_at = fields.DatetimeField()  # set by the import from the service's clock

    class Meta:
        table = "regions"


class Department(models.Model):
    """A government department (政府部门) of one region: a market supervision bureau, a public
    security bureau, a housing provident fund centre..."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)  # unified social credit code, or a stable slug
    name = fields.CharField(max_length=128)
    region_code = fields.CharField(max_length=12, db_index=True)
    kind = fields.CharField(max_length=48)  # rules.DEPARTMENT_KINDS
    status = fields.CharField(max_length=16, default="active")  # active | inactive
    created_at = fields.DatetimeField()
    updated_at = fields.DatetimeField()

    class Meta:
        table = "departments"


class Zone(models.Model):
    """A regional zone (区域一体化板块) such as 长三角 or 京津冀: a named set of regions whose
    descendants belong to it too."""

    code = fields.CharField(max_length=16, primary_key=True)
    name = fields.CharField(max_length=64)

    class Meta:
        table = "zones"


class ZoneRegion(models.Model):
    """One region named as a member of a zone."""

    id = fields.BigIntField(primary_key=True)
    zone_code = fields.CharField(max_length=16)
    region_code = fields.CharField(max_length=12, db_index=True)

    class Meta:
        table = "zone_regions"
        unique_together = (("zone_code", "region_code"),)
