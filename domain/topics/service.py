"""Service topics: product teams edit and switch them (audited, optimistically locked); citizens'
channels read the published ones from a per-instance cache kept fresh over the change feed.

Every change commits together with its audit entry, then drops this instance's cache and tells
the others through the feed (``ports.ChangeFeed``), so a topic switched on or off shows
everywhere within a second. Reading: ``published`` and ``get_published`` (see ``reading.py``).
"""
from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.audit.service import Actor, AuditLog
from domain.shared.clock import Clock
from domain.topics import rules
from domain.topics.cache import PublishedCache
from domain.topics.errors import (
    TopicExists,
    TopicInvalid,
    TopicNotFound,
    TopicNotPublishable,
    TopicTransitionRefused,
    TopicVersionConflict,
    TopicVersionRequired,
)
from domain.topics.models import Topic
from domain.topics.ports import ChangeFeed
from domain.topics.reading import PublishedLookup, TopicReader
from domain.topics.views import EntryView, TopicView, ordering_key, snapshot, view

__all__ = ["EntryView", "Preview", "PublishedLookup", "TopicService", "TopicView"]

log = logging.getLogger("govhub.topics")

EDITABLE = ("title", "subtitle", "banner_url", "entries", "channels", "regions", "starts_at", "ends_at",
            "weight")
TARGET = "topic"


@dataclass(frozen=True)
class Preview:
    topic: TopicView
    visibility: rules.Visibility
    at: datetime


class TopicService(TopicReader):
    def __init__(self, *, clock: Clock, feed: ChangeFeed | None = None,
                 cache: PublishedCache | None = None) -> None:
        super().__init__(clock=clock, feed=feed, cache=cache or PublishedCache())

    # --- editing -------------------------------------------------------------------------------

    async def create(self, *, actor: Actor, code: str, title: str, request_id: str | None = None,
                     **values) -> TopicView:
        """A new draft. ``values``: any of EDITABLE (entries as dicts: kind, ref, title, icon)."""
        values = {"code": code, "title": title, "subtitle": None, "banner_url": None, "entries": [],
                  "channels": [], "regions": [], "starts_at": None, "ends_at": None, "weight": 0,
                  **_only_editable(values)}
        _check(rules.topic_problems(values))
        values["entries"] = _with_ids(values["entries"], known=())
        now = self._clock.now()
        try:
            async with in_transaction():
                if await Topic.exists(code=code):
                    raise TopicExists(f"专题编码 {code} 已被使用")
                topic = await Topic.create(**values, status="draft", version=1, created_by=actor.username,
                                           updated_by=actor.username, created_at=now, updated_at=now)
                await AuditLog.record(actor=actor, action="topic.create", target_type=TARGET, target_id=code,
                                      before=None, after=snapshot(topic), request_id=request_id, at=now)
        except IntegrityError as exc:
            raise TopicExists(f"专题编码 {code} 已被使用") from exc
        return view(topic)

    async def update(self, *, actor: Actor, code: str, version: int | None, request_id: str | None = None,
                     **changes) -> TopicView:
        """Change the fields given (None clears an optional one). A published topic stays complete."""
        _require_version(version)
        changes = _only_editable(changes)

        def apply(topic: Topic) -> None:
            merged = {**snapshot(topic), **changes}
            _check(rules.topic_problems(merged))
            if topic.status == "published":  # what citizens see now must stay complete
                _check(rules.publish_problems(merged), not_publishable=True)
            if "entries" in changes:
                changes["entries"] = _with_ids(changes["entries"], known=[e["id"] for e in topic.entries])
            for name, value in changes.items():
                setattr(topic, name, value)

        return await self._write(actor, code, version, "topic.update", apply, request_id)

    async def reorder(self, *, actor: Actor, code: str, version: int | None, order: list[str],
                      request_id: str | None = None) -> TopicView:
        """Put the entries in ``order`` (their ids, every one exactly once)."""
        _require_version(version)

        def apply(topic: Topic) -> None:
            problem = rules.reorder_problem([e["id"] for e in topic.entries], order)
            if problem:
                raise TopicInvalid(problem, errors=[{"field": "order", "message": problem}])
            by_id = {e["id"]: e for e in topic.entries}
            topic.entries = [by_id[entry_id] for entry_id in order]

        return await self._write(actor, code, version, "topic.reorder", apply, request_id)

    async def publish(self, *, actor: Actor, code: str, version: int | None = None,
                      request_id: str | None = None) -> TopicView:
        def apply(topic: Topic) -> None:
            _transition(topic, "published")
            _check(rules.publish_problems(snapshot(topic)), not_publishable=True)
            topic.status, topic.published_at = "published", self._clock.now()

        return await self._write(actor, code, version, "topic.publish", apply, request_id)

    async def take_offline(self, *, actor: Actor, code: str, version: int | None = None,
                           request_id: str | None = None) -> TopicView:
        def apply(topic: Topic) -> None:
            _transition(topic, "offline")
            topic.status = "offline"

        return await self._write(actor, code, version, "topic.offline", apply, request_id)

    async def delete(self, *, actor: Actor, code: str, version: int | None = None,
                     request_id: str | None = None) -> None:
        """Only a draft goes: a topic citizens have seen is taken offline and stays on record."""
        async with in_transaction():
            topic = await _topic(code)
            _check_version(topic, version)
            if topic.status != "draft":
                raise TopicTransitionRefused("只能删除草稿；已发布过的专题请下线")
            if not await Topic.filter(id=topic.id, version=topic.version).delete():
                raise _conflict(code)
            await AuditLog.record(actor=actor, action="topic.delete", target_type=TARGET, target_id=code,
                                  before=snapshot(topic), after=None, request_id=request_id,
                                  at=self._clock.now())

    # --- reading for editors -------------------------------------------------------------------

    async def get(self, code: str) -> TopicView:
        return view(await _topic(code))

    async def list(self, *, status: str | None = None, channel: str | None = None,
                   region_code: str | None = None, q: str | None = None) -> list[TopicView]:
        """All topics matching the filters, in display order (topics number in the tens)."""
        query = Topic.all()
        if status:
            query = query.filter(status=status)
        if q:
            query = query.filter(title__icontains=q)
        topics = [view(t) for t in await query]
        if channel:
            topics = [t for t in topics if channel in t.channels]
        if region_code:
            topics = [t for t in topics if rules.targets_region(t.regions, region_code)]
        return sorted(topics, key=ordering_key)

    async def preview(self, code: str, *, channel: str, region_code: str | None,
                      at: datetime | None = None) -> Preview:
        """The topic as ``channel`` and ``region_code`` would see it, whatever its status, and
        whether (and if not, why not) they would see it at ``at`` (default: now)."""
        self.check_audience(channel, region_code)
        topic = view(await _topic(code))
        at = at or self._clock.now()
        return Preview(topic=topic, visibility=rules.visibility(topic, channel, region_code, at), at=at)

    # --- the write path ----------------------------------------------------------------------

    async def _write(self, actor: Actor, code: str, version: int | None, action: str,
                     apply: Callable[[Topic], None], request_id: str | None) -> TopicView:
        now = self._clock.now()
        async with in_transaction():
            topic = await _topic(code)
            _check_version(topic, version)
            before = snapshot(topic)
            apply(topic)
            topic.version, topic.updated_at, topic.updated_by = before["version"] + 1, now, actor.username
            # Compare-and-set on the version: two editors saving at once cannot both win, on
            # SQLite (no row locks) as on PostgreSQL.
            fields = {name: getattr(topic, name) for name in (*EDITABLE, "status", "published_at", "version",
                                                                 "updated_at", "updated_by")}
            if not await Topic.filter(id=topic.id, version=before["version"]).update(**fields):
                raise _conflict(code)
            await AuditLog.record(actor=actor, action=action, target_type=TARGET, target_id=code,
                                  before=before, after=snapshot(topic), request_id=request_id, at=now)
        if "published" in (before["status"], topic.status):  # drafts and offline topics reach no citizen
            await self.announce_change({"topic": code, "action": action})
        return view(topic)


async def _topic(code: str) -> Topic:
    topic = await Topic.get_or_none(code=code) if isinstance(code, str) and len(code) <= 64 else None
    if topic is None:
        raise TopicNotFound(f"专题 {code} 不存在")
    return topic


def _transition(topic: Topic, target: str) -> None:
    refusal = rules.transition_refusal(topic.status, target)
    if refusal:
        raise TopicTransitionRefused(refusal, current_status=topic.status)


def _require_version(version: int | None) -> None:
    if version is None:
        raise TopicVersionRequired("修改专题须提供版本号（If-Match 请求头或 version 字段）")


def _check_version(topic: Topic, version: int | None) -> None:
    if version is not None and version != topic.version:
        raise _conflict(topic.code, topic.version)


def _conflict(code: str, current: int | None = None) -> TopicVersionConflict:
    extra = {"current_version": current} if current is not None else {}
    return TopicVersionConflict(f"专题 {code} 已被他人修改，请刷新后重试", **extra)


def _only_editable(values: dict) -> dict:
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise TopicInvalid("不能修改的字段：" + "、".join(unknown),
                           errors=[{"field": name, "message": "不能修改"} for name in unknown])
    return dict(values)


def _check(problems: list[dict], *, not_publishable: bool = False) -> None:
    if problems:
        error = TopicNotPublishable if not_publishable else TopicInvalid
        raise error("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)


def _with_ids(entries: list[dict], *, known) -> list[dict]:
    """Entries in their stored shape; an entry keeps the id it came with if the topic has it."""
    kept, used = [], set()
    for entry in entries:
        entry_id = entry.get("id")
        if entry_id not in known or entry_id in used:
            entry_id = "e" + secrets.token_hex(4)
        used.add(entry_id)
        title = entry.get("title")
        kept.append({"id": entry_id, "kind": entry["kind"], "ref": entry["ref"],
                     "title": title.strip() if isinstance(title, str) else None, "icon": entry.get("icon")})
    return kept
