"""Shapes of matters per channel: mini-programs get few fields (setData is slow on big payloads),
the app gets what its richer pages show."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from bff.common.schemas import Out, shaped
from domain.catalog.models import Matter
from domain.catalog.rules import KINDS, ONLINE_DEPTHS


class MatterSummaryCompact(Out):
    code: str = Field(examples=["330100-NAT-0001"])
    name: str
    online_depth: int = Field(description="1 information … 4 entirely online")
    cross_province: bool


class MatterSummaryFull(MatterSummaryCompact):
    kind: str
    kind_name: str
    region_code: str
    department_code: str
    promised_limit_days: int = Field(description="working days")
    fee_fen: int
    channels: list[str]
    instant_approval: bool


class MaterialNeeded(Out):
    name: str
    required: bool | None
    license_type: str | None = Field(description="the e-license type that satisfies it, if any")
    copies: int | None


class MaterialNeededFull(MaterialNeeded):
    notes: str | None


class MatterDetailCompact(MatterSummaryCompact):
    promised_limit_days: int
    fee_fen: int
    materials: list[MaterialNeeded]
    form_schema: dict[str, Any] = Field(description="the application form (JSON Schema)")
    instant_approval: bool
    department_code: str
    entry: str = Field(description="which capability submits it: application (the plain route), "
                                   "housing_fund (a withdrawal) or bundle (a bundle's step only)")


class MatterDetailFull(MatterSummaryFull):
    catalog_code: str
    legal_limit_days: int
    online_depth_name: str | None
    for_individuals: bool
    for_legal_persons: bool
    life_events: list[str]
    themes: list[str]
    zones: list[str]
    materials: list[MaterialNeededFull]
    form_schema: dict[str, Any]
    entry: str = Field(description="which capability submits it: application, housing_fund or bundle")


@shaped(MatterSummaryCompact)
def summary_compact(m: Matter) -> dict:
    return {"code": m.code, "name": m.name, "online_depth": m.online_depth, "cross_province": m.cross_province}


@shaped(MatterSummaryFull)
def summary_full(m: Matter) -> dict:
    return {**summary_compact(m), "kind": m.kind, "kind_name": KINDS.get(m.kind, m.kind), "region_code": m.region_code,
            "department_code": m.department_code, "promised_limit_days": m.promised_limit_days,
            "fee_fen": m.fee_fen, "channels": m.channels, "instant_approval": m.instant_approval}


def _materials(m: Matter, *, notes: bool) -> list[dict]:
    keys = ("name", "required", "license_type", "copies") + (("notes",) if notes else ())
    return [{k: item.get(k) for k in keys} for item in m.materials]


@shaped(MatterDetailCompact)
def detail_compact(m: Matter) -> dict:
    return {**summary_compact(m), "promised_limit_days": m.promised_limit_days, "fee_fen": m.fee_fen,
            "materials": _materials(m, notes=False), "form_schema": m.form_schema,
            "instant_approval": m.instant_approval, "department_code": m.department_code,
            "entry": m.entry}  # which capability submits it: where the page sends the citizen


@shaped(MatterDetailFull)
def detail_full(m: Matter) -> dict:
    return {**summary_full(m), "catalog_code": m.catalog_code, "legal_limit_days": m.legal_limit_days,
            "online_depth_name": ONLINE_DEPTHS.get(m.online_depth), "for_individuals": m.for_individuals,
            "for_legal_persons": m.for_legal_persons, "life_events": m.life_events, "themes": m.themes,
            "zones": m.zones, "materials": _materials(m, notes=True), "form_schema": m.form_schema,
            "entry": m.entry}


# --- home -----------------------------------------------------------------------------------------

MINI_TOPIC_ENTRIES = 4
MINI_HOT = 6


class HomeEntry(Out):
    kind: str = Field(description="matter | bundle | link")
    ref: str
    title: str | None
    icon: str | None


class HomeTopicCompact(Out):
    code: str
    title: str
    banner_url: str | None
    entries: list[HomeEntry]
    more: bool = Field(description="the topic has more entries than shown")


class HomeTopicFull(HomeTopicCompact):
    subtitle: str | None


class HotCompact(Out):
    code: str
    name: str


class HotFull(HotCompact):
    region_code: str
    popularity: int
    online_depth: int


class HomeCompact(Out):
    region: str
    topics: list[HomeTopicCompact]
    hot: list[HotCompact]
    open_items: int | None = Field(description="the logged-in citizen's open applications; null when logged out")


class HomeFull(HomeCompact):
    topics: list[HomeTopicFull]
    hot: list[HotFull]


def _topic(topic, entries: int | None) -> dict:
    listed = list(topic.entries)
    return {"code": topic.code, "title": topic.title, "banner_url": topic.banner_url,
            "entries": [_entry(e) for e in (listed if entries is None else listed[:entries])],
            "more": entries is not None and len(listed) > entries}


def _entry(entry) -> dict:
    get = entry.get if isinstance(entry, dict) else lambda k, d=None: getattr(entry, k, d)
    return {"kind": get("kind"), "ref": get("ref"), "title": get("title"), "icon": get("icon")}


@shaped(HomeCompact)
def home_compact(view) -> dict:
    return {"region": view.region_code, "topics": [_topic(t, MINI_TOPIC_ENTRIES) for t in view.topics],
            "hot": [{"code": h["code"], "name": h["name"]} for h in view.hot[:MINI_HOT]],
            "open_items": view.open_items}


@shaped(HomeFull)
def home_full(view) -> dict:
    topics = [{**_topic(t, None), "subtitle": getattr(t, "subtitle", None)} for t in view.topics]
    return {"region": view.region_code, "topics": topics, "hot": view.hot, "open_items": view.open_items}
