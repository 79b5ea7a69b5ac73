"""A service topic as citizens' channels show it: one shape for the public route, the home
pages and the admin preview, so that a preview is exactly what a channel shows."""
from __future__ import annotations

from bff.common.schemas import Out

from domain.topics.service import TopicView


class PublicEntry(Out):
    kind: str
    ref: str
    title: str | None
    icon: str | None


class PublicTopic(Out):
    """A topic as a citizen's channel shows it."""

    code: str
    title: str
    subtitle: str | None
    banner_url: str | None
    entries: list[PublicEntry]


class PublicTopicList(Out):
    items: list[PublicTopic]


def topic_public(topic: TopicView) -> dict:
    """No status, targeting or editing history: only what the page shows."""
    return {"code": topic.code, "title": topic.title, "subtitle": topic.subtitle,
            "banner_url": topic.banner_url,
            "entries": [{"kind": e.kind, "ref": e.ref, "title": e.title, "icon": e.icon}
                        for e in topic.entries]}
