"""Tables owned by the catalog: the national basic catalog, the local implementation items and the
search words product teams keep.

The search index (``matter_search``) is not a model: it is a PostgreSQL tsvector table or an SQLite
FTS5 virtual table, created by migration 0004 and written by ``domain/catalog/search_index.py``.
"""
from __future__ import annotations

from tortoise import fields, models


class CatalogItem(models.Model):
    """An item of the national basic catalog (国家政务服务事项基本目录): what a service is,
    independent of where it is delivered."""

    code = fields.CharField(max_length=32, primary_key=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=32)
    for_individuals = fields.BooleanField(default=True)
    for_legal_persons = fields.BooleanField(default=False)
    life_events = fields.JSONField(default=list)
    themes = fields.JSONField(default=list)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "catalog_items"


class Matter(models.Model):
    """A matter (政务服务事项): one implementation of a catalog item by one department of one region,
    with its materials, time limits, fee, online depth, channels and application form, and the
    capability that submits its applications (``entry``: a plain application, a housing-fund
    withdrawal, a bundle's step; migration 0016)."""

    id = fields.BigIntField(primary_key=True)
    code = fields.CharField(max_length=64, unique=True)
    catalog_code = fields.CharField(max_length=32, db_index=True)
    name = fields.CharField(max_length=200)
    kind = fields.CharField(max_length=32)
    region_code = fields.CharField(max_length=12)
    department_code = fields.CharField(max_length=64, db_index=True)
    for_individuals = fields.BooleanField(default=True)
    for_legal_persons = fields.BooleanField(default=False)
    life_events = fields.JSONField(default=list)
    themes = fields.JSONField(default=list)
    materials = fields.JSONField(default=list)
    legal_limit_days = fields.SmallIntField(default=0)
    promised_limit_days = fields.SmallIntField(default=0)
    fee_fen = fields.BigIntField(default=0)
    online_depth = fields.SmallIntField(default=1)
    channels = fields.JSONField(default=list)
    cross_province = fields.BooleanField(default=False)
    zones = fields.JSONField(default=list)
    form_schema = fields.JSONField(default=dict)
    instant_approval = fields.BooleanField(default=False)
    entry = fields.CharField(max_length=16, default="application")  # which capability submits it (rules.ENTRIES)
    status = fields.CharField(max_length=16, default="active")
    views = fields.BigIntField(default=0)
    applications = fields.BigIntField(default=0)
    popularity = fields.BigIntField(default=0)
    content_hash = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "matters"
        indexes = (("region_code", "popularity"),)


class SearchWord(models.Model):
    """A search word (搜索词): a term citizens type (社保) and the words the catalog's names use for it
    (社会保险, 社会保障), kept by product teams; search also looks for the expansions of every term
    a query contains (domain/catalog/search_word_rules.py). Terms are stored normalized."""

    id = fields.BigIntField(primary_key=True)
    term = fields.CharField(max_length=16, unique=True)
    expansions = fields.JSONField(default=list)
    two_way = fields.BooleanField(default=True)  # an expansion typed finds the term too
    note = fields.CharField(max_length=200, default="")
    version = fields.IntField(default=1)
    created_by = fields.CharField(max_length=64)
    updated_by = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "search_words"
