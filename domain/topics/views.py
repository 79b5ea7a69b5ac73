"""Topics as plain values: what services return and channels shape (never the ORM rows)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.topics.models import Topic


@dataclass(frozen=True)
class EntryView:
    id: str  # stable within the topic: reordering names entries by it
    kind: str  # matter | bundle | link
    ref: str  # a matter code, a bundle code, or an https URL
    title: str | None  # overrides the matter's or bundle's own name; always set for a link
    icon: str | None


@dataclass(frozen=True)
class TopicView:
    code: str
    title: str
    subtitle: str | None
    banner_url: str | None
    entries: tuple[EntryView, ...]
    channels: tuple[str, ...]
    regions: tuple[str, ...]
    status: str
    starts_at: datetime | None
    ends_at: datetime | None
    weight: int
    version: int
    published_at: datetime | None
    updated_at: datetime
    updated_by: str


def view(topic: Topic) -> TopicView:
    return TopicView(
        code=topic.code, title=topic.title, subtitle=topic.subtitle, banner_url=topic.banner_url,
        entries=tuple(EntryView(id=e["id"], kind=e["kind"], ref=e["ref"], title=e.get("title"),
                                icon=e.get("icon")) for e in topic.entries),
        channels=tuple(topic.channels), regions=tuple(topic.regions), status=topic.status,
        starts_at=topic.starts_at, ends_at=topic.ends_at, weight=topic.weight, version=topic.version,
        published_at=topic.published_at, updated_at=topic.updated_at, updated_by=topic.updated_by)


def ordering_key(topic: TopicView) -> tuple:
    """Higher weight first; among equals the code keeps the order stable across instances."""
    return (-topic.weight, topic.code)


def snapshot(topic: Topic) -> dict:
    """What the audit log keeps of a topic: every editable field and the status."""
    return {"code": topic.code, "title": topic.title, "subtitle": topic.subtitle,
            "banner_url": topic.banner_url, "entries": list(topic.entries), "channels": list(topic.channels),
            "regions": list(topic.regions),
            "status": topic.status, "starts_at": topic.starts_at, "ends_at": topic.ends_at,
            "weight": topic.weight, "version": topic.version}
