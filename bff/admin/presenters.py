"""Shapes of admin and topic results, and the reading of times and versions from requests."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sanic import Request

from bff.common.topics import topic_public
from domain.admin.service import AccountView, AdminPrincipal
from domain.audit.service import AuditRecord
from domain.shared.clock import SHANGHAI
from domain.shared.errors import InvalidInput
from domain.topics.rules import REASONS
from domain.topics.service import Preview, TopicView

_ETAG = re.compile(r'^(?:W/)?"?(\d{1,9})"?$')


def when(moment: datetime | None) -> str | None:
    return moment.astimezone(SHANGHAI).isoformat() if moment else None


def parse_time(value: str | None, field: str) -> datetime | None:
    """ISO 8601; without an offset it is Beijing time (what product teams plan by). Returned in UTC,
    the zone rows store, so it can bound a query (see domain.shared.clock.beijing_day_start)."""
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field} 应为ISO 8601时间",
                           errors=[{"field": field, "message": "应为ISO 8601时间"}]) from None
    return (moment.replace(tzinfo=SHANGHAI) if moment.tzinfo is None else moment).astimezone(timezone.utc)


def version_of(request: Request, body_version: int | None) -> int | None:
    """The version a write is based on: ``If-Match: "3"`` or ``version`` in the body."""
    header = request.headers.get("If-Match")
    from_header = None
    if header is not None:
        match = _ETAG.match(header.strip())
        if not match:
            raise InvalidInput('If-Match 应为专题的 ETag，如 "3"',
                               errors=[{"field": "If-Match", "message": "格式有误"}])
        from_header = int(match.group(1))
    if from_header is not None and body_version is not None and from_header != body_version:
        raise InvalidInput("If-Match 与 version 不一致",
                           errors=[{"field": "version", "message": "与 If-Match 不一致"}])
    return from_header if from_header is not None else body_version


def etag(topic: TopicView) -> dict:
    return {"ETag": f'"{topic.version}"'}


def me(principal: AdminPrincipal) -> dict:
    return {"username": principal.username, "display_name": principal.display_name,
            "roles": sorted(principal.roles)}


def account(view: AccountView) -> dict:
    return {"username": view.username, "display_name": view.display_name, "roles": list(view.roles),
            "status": view.status, "locked_until": when(view.locked_until),
            "last_login_at": when(view.last_login_at),
            "password_changed_at": when(view.password_changed_at), "created_at": when(view.created_at),
            "updated_at": when(view.updated_at)}


def audit_entry(record: AuditRecord) -> dict:
    return {"id": record.id, "at": when(record.at), "actor_id": record.actor_id,
            "actor": record.actor_username,
            "action": record.action, "target_type": record.target_type, "target_id": record.target_id,
            "before": record.before, "after": record.after, "request_id": record.request_id}


def topic_admin(topic: TopicView) -> dict:
    return {"code": topic.code, "title": topic.title, "subtitle": topic.subtitle,
            "banner_url": topic.banner_url,
            "entries": [{"id": e.id, "kind": e.kind, "ref": e.ref, "title": e.title, "icon": e.icon}
                        for e in topic.entries],
            "channels": list(topic.channels), "regions": list(topic.regions), "status": topic.status,
            "starts_at": when(topic.starts_at), "ends_at": when(topic.ends_at), "weight": topic.weight,
            "version": topic.version, "published_at": when(topic.published_at),
            "updated_at": when(topic.updated_at), "updated_by": topic.updated_by}


def preview(result: Preview) -> dict:
    return {"topic": topic_public(result.topic), "visible": result.visibility.visible,
            "reasons": [{"code": code, "message": REASONS[code]} for code in result.visibility.reasons],
            "at": when(result.at), "status": result.topic.status}
