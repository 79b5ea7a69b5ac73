"""Shapes of matters per channel: mini-programs get few fields (setData is slow on big payloads),
the app gets what its richer pages show."""
from __future__ import annotations

from domain.catalog.models import Matter
from domain.catalog.rules import KINDS, ONLINE_DEPTHS


def summary_compact(m: Matter) -> dict:
    return {"code": m.code, "name": m.name, "online_depth": m.online_depth, "cross_province": m.cross_province}


def summary_full(m: Matter) -> dict:
    return {**summary_compact(m), "kind": m.kind, "kind_name": KINDS.get(m.kind, m.kind), "region_code": m.region_code,
            "department_code": m.department_code, "promised_limit_days": m.promised_limit_days,
            "fee_fen": m.fee_fen, "channels": m.channels, "instant_approval": m.instant_approval}


def _materials(m: Matter, *, notes: bool) -> list[dict]:
    keys = ("name", "required", "license_type", "copies") + (("notes",) if notes else ())
    return [{k: item.get(k) for k in keys} for item in m.materials]


def detail_compact(m: Matter) -> dict:
    return {**summary_compact(m), "promised_limit_days": m.promised_limit_days, "fee_fen": m.fee_fen,
            "materials": _materials(m, notes=False), "form_schema": m.form_schema,
            "instant_approval": m.instant_approval, "department_code": m.department_code,
            "entry": m.entry}  # which capability submits it: where the page sends the citizen


def detail_full(m: Matter) -> dict:
    return {**summary_full(m), "catalog_code": m.catalog_code, "legal_limit_days": m.legal_limit_days,
            "online_depth_name": ONLINE_DEPTHS.get(m.online_depth), "for_individuals": m.for_individuals,
            "for_legal_persons": m.for_legal_persons, "life_events": m.life_events, "themes": m.themes,
            "zones": m.zones, "materials": _materials(m, notes=True), "form_schema": m.form_schema,
            "entry": m.entry}


# --- home -----------------------------------------------------------------------------------------

MINI_TOPIC_ENTRIES = 4
MINI_HOT = 6


def _topic(topic, entries: int | None) -> dict:
    listed = list(topic.entries)
    return {"code": topic.code, "title": topic.title, "banner_url": topic.banner_url,
            "entries": [_entry(e) for e in (listed if entries is None else listed[:entries])],
            "more": entries is not None and len(listed) > entries}


def _entry(entry) -> dict:
    get = entry.get if isinstance(entry, dict) else lambda k, d=None: getattr(entry, k, d)
    return {"kind": get("kind"), "ref": get("ref"), "title": get("title"), "icon": get("icon")}


def home_compact(view) -> dict:
    return {"region": view.region_code, "topics": [_topic(t, MINI_TOPIC_ENTRIES) for t in view.topics],
            "hot": [{"code": h["code"], "name": h["name"]} for h in view.hot[:MINI_HOT]],
            "open_items": view.open_items}


def home_full(view) -> dict:
    topics = [{**_topic(t, None), "subtitle": getattr(t, "subtitle", None)} for t in view.topics]
    return {"region": view.region_code, "topics": topics, "hot": view.hot, "open_items": view.open_items}
