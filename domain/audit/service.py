"""The audit trail: every change made through /admin/v1 (and by the CLI and the seed).

``AuditLog.record`` writes on the caller's transaction: call it inside the same
``async with in_transaction():`` block as the change, so that a change without its entry (or an
entry for a change that rolled back) cannot exist::

    async with in_transaction():
        before = snapshot(matter)
        ...change matter...
        await AuditLog.record(actor=principal, action="matter.update", target_type="matter",
                              target_id=matter.code, before=before, after=snapshot(matter),
                              request_id=request_id)
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from domain.admin.errors import RoleRequired
from domain.audit import rules
from domain.audit.errors import AuditQueryInvalid
from domain.audit.models import AuditEntry
from domain.shared import cursors
from domain.shared.errors import InvalidCursor

MAX_PAGE = 200


class Actor(Protocol):
    """Whoever made a change: an ``AdminPrincipal``, or a ``SystemActor`` for the CLI and seed."""

    @property
    def id(self) -> int | None: ...

    @property
    def username(self) -> str: ...


@dataclass(frozen=True)
class SystemActor:
    """A change made by the platform itself rather than a logged-in account."""

    username: str
    id: None = None


CLI = SystemActor("system:cli")
SEED = SystemActor("system:seed")


@dataclass(frozen=True)
class AuditFilters:
    target_type: str | None = None
    target_id: str | None = None
    actor: str | None = None  # username
    since: datetime | None = None


@dataclass(frozen=True)
class AuditRecord:
    id: int
    at: datetime
    actor_id: int | None
    actor_username: str
    action: str
    target_type: str
    target_id: str
    before: Any
    after: Any
    request_id: str | None


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditRecord]
    next_cursor: str | None  # pass back as ``cursor`` for the next (older) page


class Reader(Protocol):
    """Someone reading the trail: an ``AdminPrincipal`` (its roles decide, domain/audit/rules.py)."""

    @property
    def roles(self) -> frozenset[str]: ...


class AuditLog:
    """Stateless: the methods are static so any service can call them without wiring. A person reads
    the trail through ``read`` (the guard, whichever door they come through); ``list`` is the
    platform's own unguarded read (the CLI, tests) and no HTTP route calls it."""

    @staticmethod
    async def record(*, actor: Actor, action: str, target_type: str, target_id: str | int, before: Any,
                     after: Any, request_id: str | None = None, at: datetime | None = None) -> None:
        """Append one entry. ``before``/``after`` are plain values (dicts of the changed record,
        ``None`` for a creation or a deletion); datetimes and sets are stored as JSON text/lists.
        Never put secrets in them (password hashes, tokens)."""
        await AuditEntry.create(
            at=at or datetime.now(UTC), actor_id=actor.id, actor_username=actor.username[:64],
            action=action[:64], target_type=target_type[:32], target_id=str(target_id)[:128],
            before=json_safe(before), after=json_safe(after),
            request_id=request_id[:64] if request_id else None)

    @staticmethod
    async def read(*, reader: Reader, filters: AuditFilters | None = None, limit: int = 50,
                   cursor: str | None = None) -> AuditPage:
        """``list`` for a person: operators read every entry; other roles only the target types their
        role changes, named in ``filters.target_type`` (rules.READS). Anything else is refused with
        ``role_required`` naming the roles that may read it, before any row is read."""
        filters = filters or AuditFilters()
        if not rules.may_read(reader.roles, filters.target_type):
            needed = rules.readers_of(filters.target_type)
            raise RoleRequired("查看这部分审计日志需要以下角色之一：" + "、".join(needed), roles=needed)
        return await AuditLog.list(filters, limit=limit, cursor=cursor)

    @staticmethod
    async def list(filters: AuditFilters | None = None, *, limit: int = 50,
                   cursor: str | None = None) -> AuditPage:
        """Newest first. ``cursor`` comes from the previous page's ``next_cursor``; entries
        written meanwhile appear at the top of a new first page, never twice."""
        filters = filters or AuditFilters()
        limit = max(1, min(limit, MAX_PAGE))
        query = AuditEntry.all()
        if filters.target_type:
            query = query.filter(target_type=filters.target_type)
        if filters.target_id:
            query = query.filter(target_id=filters.target_id)
        if filters.actor:
            query = query.filter(actor_username=filters.actor)
        if filters.since:
            query = query.filter(at__gte=filters.since)
        if cursor:
            query = query.filter(id__lt=_decode_cursor(cursor))
        rows = await query.order_by("-id").limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return AuditPage(entries=[_record(row) for row in rows],
                         next_cursor=_encode_cursor(rows[-1].id) if more else None)


def json_safe(value: Any) -> Any:
    """A JSON-storable copy: datetimes as ISO 8601, sets and tuples as lists."""
    if value is None:
        return None
    return json.loads(json.dumps(value, default=_encode, ensure_ascii=False))


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot store {type(value).__name__} in the audit log")


def _encode_cursor(last_id: int) -> str:
    return cursors.write(last_id)


def _decode_cursor(cursor: str) -> int:
    try:
        return cursors.read_id(cursor)
    except InvalidCursor:  # this list answers its own problem code, as documented
        raise AuditQueryInvalid("分页游标无效，请从第一页重新查询",
                                errors=[{"field": "cursor", "message": "格式有误"}]) from None


def _record(row: AuditEntry) -> AuditRecord:
    return AuditRecord(id=row.id, at=row.at, actor_id=row.actor_id, actor_username=row.actor_username,
                       action=row.action, target_type=row.target_type, target_id=row.target_id,
                       before=row.before, after=row.after, request_id=row.request_id)
