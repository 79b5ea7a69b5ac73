"""The name registry of sole proprietors (个体工商户名称库): every registered business name per
county-level region, so that instant approval can say "not taken" — and take it — atomically.

A name is stored by its key without the division (杭州市西湖区王强便利店 and 西湖区王强便利店 are one
name in 330106), unique per region: the reservation is one ``INSERT ... ON CONFLICT DO NOTHING`` on
that key inside the submitting transaction, so of two concurrent applications for one name exactly
one gets it (on PostgreSQL the second insert waits for the first transaction and then inserts
nothing; SQLite runs one writer at a time). The schema is migration 0010's.
"""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from tortoise import fields, models
from tortoise.backends.base.client import BaseDBAsyncClient

from domain.applications.instant_approval import NameRegistryFacts, ParsedName, parse_name, scope_list

SEED_FILE = Path(__file__).resolve().parent / "seed_data" / "business_names.json"


class RegisteredBusinessName(models.Model):
    """A registered sole-proprietor name (个体工商户名称) in one county-level region."""

    id = fields.BigIntField(primary_key=True)
    region6 = fields.CharField(max_length=6)  # the registering authority's region (GB/T 2260)
    name = fields.CharField(max_length=60)  # as registered, with its division
    name_key = fields.CharField(max_length=60)  # 字号 + 行业 + 组织形式: unique in the region
    word = fields.CharField(max_length=20)  # 字号
    industry = fields.CharField(max_length=20)  # 行业用语
    credit_code = fields.CharField(max_length=18, null=True, unique=True)
    application_number = fields.CharField(max_length=32, null=True)  # the instant approval that took it
    source = fields.CharField(max_length=16)  # instant | seed
    registered_at = fields.DatetimeField()

    class Meta:
        table = "business_names"
        unique_together = (("region6", "name_key"),)
        indexes = (("region6", "word", "industry"),)


async def lookup(conn: BaseDBAsyncClient, region6: str, parsed: ParsedName) -> NameRegistryFacts:
    """Taken (the same key), similar (the same 字号 and industry, another form) or free.

    Each read sees what had committed when it began (PostgreSQL's READ COMMITTED): the same name
    taken by a concurrent application that commits between the two reads is missed by the first
    and found "alike" by the second. So a name found alike is asked for once more: it was taken,
    not merely similar (CI saw that application told "similar, for an examiner" instead of "taken")."""
    same = await _same(conn, region6, parsed.key)
    if same is not None:
        return NameRegistryFacts("taken", same.name)
    alike = await (RegisteredBusinessName.filter(region6=region6, word=parsed.word, industry=parsed.industry)
                   .using_db(conn).first())
    if alike is None:
        return NameRegistryFacts("free")
    same = await _same(conn, region6, parsed.key)
    return NameRegistryFacts("taken", same.name) if same is not None else NameRegistryFacts("similar", alike.name)


async def _same(conn: BaseDBAsyncClient, region6: str, key: str) -> RegisteredBusinessName | None:
    return await RegisteredBusinessName.filter(region6=region6, name_key=key).using_db(conn).first()


async def reserve(conn: BaseDBAsyncClient, *, region6: str, name: str, parsed: ParsedName, number: str,
                  now: datetime) -> RegisteredBusinessName | None:
    """Take the name for application ``number`` in the caller's transaction; None when another
    application holds it (also one committed a moment ago by a concurrent request)."""
    row = RegisteredBusinessName(region6=region6, name=name, name_key=parsed.key, word=parsed.word,
                                 industry=parsed.industry, application_number=number, source="instant",
                                 registered_at=now)
    # ON CONFLICT DO NOTHING: a concurrent holder never aborts the caller's PostgreSQL transaction
    await RegisteredBusinessName.bulk_create([row], ignore_conflicts=True, using_db=conn)
    held = await RegisteredBusinessName.filter(region6=region6, name_key=parsed.key).using_db(conn).first()
    return held if held is not None and held.application_number == number else None


async def release(conn: BaseDBAsyncClient, row: RegisteredBusinessName) -> None:
    """Give a reserved name back (the approval could not be finished)."""
    await RegisteredBusinessName.filter(id=row.id, application_number=row.application_number).using_db(conn).delete()


async def record_credit_code(conn: BaseDBAsyncClient, row: RegisteredBusinessName, code: str) -> None:
    await RegisteredBusinessName.filter(id=row.id).using_db(conn).update(credit_code=code)


def seed_regions() -> set[str]:
    """The regions (six digits) the demo registry has names in."""
    return {row["region6"] for row in json.loads(SEED_FILE.read_text(encoding="utf-8"))["names"]}


async def seed_names(region_paths: dict[str, list[str]], now: datetime) -> dict[str, int]:
    """The demo registry (seed_data/business_names.json): names already registered in the demo
    regions, so a citizen can meet a taken name. ``region_paths``: region6 -> names from the
    province down. Idempotent."""
    rows = json.loads(SEED_FILE.read_text(encoding="utf-8"))["names"]
    added = 0
    for row in rows:
        parsed = parse_name(row["name"], region_paths.get(row["region6"], []), scope_list().industry_terms())
        if isinstance(parsed, str):
            raise ValueError(f"seed name {row['name']!r}: {parsed}")
        _, created = await RegisteredBusinessName.get_or_create(
            region6=row["region6"], name_key=parsed.key,
            defaults={"name": row["name"], "word": parsed.word, "industry": parsed.industry,
                      "credit_code": row.get("credit_code"), "source": "seed", "registered_at": now})
        added += created
    return {"names": added}
