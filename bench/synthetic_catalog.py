"""A synthetic national catalog: regions, matters in their stored (normalized) form, COPY text rows.

Deterministic: row ``i`` depends only on ``i`` and the seed, so chunks can be built in any process
in any order. Records are built directly in the shape ``rules.normalize`` returns (the generator
checks a sample against it), because validating 3.6 million JSON Schemas would take hours.
"""
from __future__ import annotations

import csv
import json
import random
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from bench.catalog_vocabulary import MATERIALS, CatalogEntry, catalog_names
from domain.catalog import rules
from domain.catalog import search_rules as sr
from domain.regions import rules as region_rules

ROOT = Path(__file__).resolve().parent.parent
REGIONS_CSV = ROOT / "domain" / "regions" / "seed_data" / "regions.csv"
ZONES = {"yrd": ("31", "32", "33", "34"), "jjj": ("11", "12", "13")}
CROSS_PROVINCE_SHARE = 0.02
LEVEL_SHARES = ((0.001, 0), (0.03, 1), (0.17, 2))  # national, province, city; the rest county
FORM_SCHEMA = {"type": "object", "required": ["reason"],
               "properties": {"reason": {"type": "string", "title": "申请事由", "maxLength": 200}}}
MATTER_COLUMNS = ("id", "code", "catalog_code", "name", "kind", "region_code", "department_code",
                  "for_individuals", "for_legal_persons", "life_events", "themes", "materials",
                  "legal_limit_days", "promised_limit_days", "fee_fen", "online_depth", "channels",
                  "cross_province", "zones", "form_schema", "instant_approval", "status", "views",
                  "applications", "popularity", "content_hash", "created_at", "updated_at")


def counties(regions_csv: Path | None = REGIONS_CSV, seed: int = 11) -> list[str]:
    """County-level codes: the real ones of the demo provinces (the regions seed) and synthesized
    valid ones for the other 24 provinces, ~2,850 in all like the real country."""
    real: list[str] = []
    if regions_csv and regions_csv.exists():
        with regions_csv.open(encoding="utf-8") as f:
            real = [row["code"] for row in csv.DictReader(f) if region_rules.level_of(row["code"]) == 3]
    rnd = random.Random(seed)
    have = {c[:2] for c in real}
    synthesized = []
    for province in sorted(region_rules.PROVINCES - have - {"71", "81", "82"}):
        cities = 1 if province in region_rules.MUNICIPALITIES else rnd.randint(8, 16)
        for city in range(1, cities + 1):
            for county in range(1, (18 if cities == 1 else rnd.randint(5, 12)) + 1):
                synthesized.append(f"{province}{city:02d}{county:02d}000000")
    return real + synthesized


class Generator:
    """Builds matter ``i`` of the catalog (region, catalog item, popularity all drawn from ``i``)."""

    def __init__(self, seed: int = 1, regions_csv: Path | None = REGIONS_CSV) -> None:
        self.seed = seed
        self.entries: list[CatalogEntry] = catalog_names()
        self.counties = counties(regions_csv)
        self.now = datetime.now(UTC).isoformat()
        self._docs: dict[str, sr.Document] = {}

    def record(self, i: int) -> dict:
        rnd = random.Random(self.seed * 1_000_003 + i)
        entry = self.entries[int(len(self.entries) * rnd.random() ** 1.5)]  # hot items are offered more widely
        region = self._region(rnd)
        subject = entry.subject
        cross = rnd.random() < CROSS_PROVINCE_SHARE
        out = {
            "code": f"{region[:6]}-{entry.code}-{i:07d}", "catalog_code": entry.code, "name": entry.name,
            "catalog_name": entry.name, "kind": subject.kind, "region_code": region,
            "department_code": f"{region[:6]}-{subject.department}",
            "for_individuals": subject.audience in "ib", "for_legal_persons": subject.audience in "lb",
            "life_events": sorted(set(subject.life_events)), "themes": [subject.department],
            "zones": sorted(z for z, members in ZONES.items() if region[:2] in members and rnd.random() < 0.3),
            "legal_limit_days": (legal := rnd.choice((0, 5, 10, 15, 20, 30, 60))),
            "promised_limit_days": rnd.randint(0, legal) if legal else rnd.choice((0, 1, 3)),
            "fee_fen": rnd.choice((0, 0, 0, 0, 1000, 2000, 5000, 20000)),
            "online_depth": rnd.choice((1, 2, 3, 3, 4, 4, 4)), "cross_province": cross,
            "instant_approval": "秒批" in entry.name or rnd.random() < 0.01,
            "channels": [c for c in rules.CHANNELS if c == "pc" or rnd.random() < 0.8],
            "materials": self._materials(rnd, subject.license_type), "form_schema": FORM_SCHEMA,
        }
        out["content_hash"] = rules.content_hash(out)
        return out

    def popularity(self, i: int, record: dict) -> tuple[int, int, int]:
        """(views, applications, popularity): hot catalog items are hot everywhere, with a long tail."""
        rnd = random.Random(self.seed * 7_000_003 + i)
        hotness = int(record["catalog_code"][4:])
        base = 200_000 / hotness ** 1.2 * rnd.lognormvariate(0, 1.0)
        applications = int(base / 40)
        views = int(base)
        return views, applications, views + 10 * applications

    def document(self, record: dict, popularity: int = 0) -> sr.Document:
        """The index document, as CatalogService builds it; grams of a name are computed once."""
        facets = sr.Facets(region_code=record["region_code"], cross_province=record["cross_province"],
                           department_code=record["department_code"], kind=record["kind"],
                           for_individuals=record["for_individuals"],
                           for_legal_persons=record["for_legal_persons"],
                           life_events=tuple(record["life_events"]), channels=tuple(record["channels"]),
                           zones=tuple(record["zones"]))
        named = self._docs.get(record["name"])
        if named is None:
            named = self._docs[record["name"]] = sr.document(record["name"], facets)
        return sr.with_popularity(replace(named, facets=facets.tokens()), popularity)

    def _region(self, rnd: random.Random) -> str:
        county = rnd.choice(self.counties)
        draw = rnd.random()
        for share, level in LEVEL_SHARES:
            if draw < share:
                return sr.NATIONAL if level == 0 else region_rules.ancestors(county)[level - 1]
            draw -= share
        return county

    @staticmethod
    def _materials(rnd: random.Random, license_type: str | None) -> list[dict]:
        picked = [MATERIALS[0]] + rnd.sample(MATERIALS[1:], rnd.randint(0, 2))
        out = [{"name": n, "required": True, "license_type": t, "copies": 1, "notes": ""} for n, t in picked]
        if license_type and all(m["license_type"] != license_type for m in out):
            name = next(n for n, t in MATERIALS if t == license_type)
            out.append({"name": name, "required": False, "license_type": license_type, "copies": 1, "notes": ""})
        return out


def copy_text(value) -> str:
    """One field of PostgreSQL's COPY text format."""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (list, dict)):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def matter_row(gen: Generator, matter_id: int, record: dict) -> str:
    views, applications, popularity = gen.popularity(matter_id, record)
    values = {**record, "id": matter_id, "status": "active", "views": views, "applications": applications,
              "popularity": popularity, "created_at": gen.now, "updated_at": gen.now}
    return "\t".join(copy_text(values[c]) for c in MATTER_COLUMNS) + "\n"


SEARCH_COLUMNS = ("matter_id", "document", "tier", "popularity", "name_key", "channels")


def search_row(gen: Generator, matter_id: int, record: dict) -> str:
    doc = gen.document(record, gen.popularity(matter_id, record)[2])
    values = (matter_id, sr.tsvector_literal(doc), doc.tier, doc.popularity, doc.name_key, doc.channels)
    return "\t".join(copy_text(v) for v in values) + "\n"


def catalog_rows(gen: Generator) -> list[tuple]:
    """catalog_items rows for COPY (the national basic catalog the matters implement)."""
    return [(e.code, e.name, e.subject.kind, e.subject.audience in "ib", e.subject.audience in "lb",
             json.dumps(sorted(set(e.subject.life_events))), json.dumps([e.subject.department]),
             datetime.now(UTC)) for e in gen.entries]
