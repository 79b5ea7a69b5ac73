"""The citizen's data tracker (数据使用记录), grown from the license access log: every read of a
citizen's data through the exchange, every identity verification of them, every license released
to a department — when, which department, which service and fields, purpose and case. A use under
an investigative grant stays hidden until its embargo ends, then shows. A citizen sees only their
own; the rows are written with the message log's batch (``of_exchange``) or the license release's
transaction (``license_used``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.nodes.errors import NodeNotFound
from domain.shared import cursors
from domain.shared.clock import Clock
from domain.shared.memo import Memo
from domain.shared.vault import Vault
from domain.sharing import rules
from domain.sharing.models import DataUse
from domain.sharing.ports import LicenseUse

SUBJECT = "sharing.subject"
NAMES_SECONDS = 60.0
MAX_PAGE = 100
EXCHANGE, IDENTITY_VERIFICATION, LICENSE_EXCHANGE = "exchange", "identity_verification", "license_exchange"
HEALTH_RECORDS = "health_records"  # a region read pooled health records (domain/health)


@dataclass(frozen=True)
class DataUseView:
    id: int
    at: datetime
    kind: str
    node: str
    node_name: str
    service: str
    service_title: str
    fields: tuple[str, ...]
    purpose: str
    issue: str | None
    outcome: str


@dataclass(frozen=True)
class DataUsePage:
    items: list[DataUseView]
    next_cursor: str | None


@dataclass(frozen=True)
class UseFilters:
    node: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class DataUses:
    def __init__(self, *, clock: Clock, vault: Vault, identity, nodes) -> None:
        """``identity``: a citizen's ID number (their uses are kept by its hash); ``nodes``: departments' names."""
        self.clock, self.vault, self.identity, self.nodes = clock, vault, identity, nodes
        self._names: Memo[str, str] = Memo(seconds=NAMES_SECONDS)

    def subject_hash(self, subject: str | None) -> str | None:
        """How the message log names a data subject: a keyed hash, never the ID number itself."""
        return None if subject is None else self.vault.lookup_hash(subject, context=SUBJECT)

    async def of_exchange(self, trace, *, at: datetime) -> list[dict]:
        """The tracker row of an exchange call that named a citizen (none for a company or nobody)."""
        if not trace.subject or trace.subject_kind != "person" or trace.grant is None:
            return []
        grant = trace.grant
        return [await self.row(subject=trace.subject, at=at, kind=EXCHANGE, node=trace.request.node,
                               service=trace.service, service_title=trace.service_title, fields=trace.fields,
                               purpose=grant.purpose, issue=trace.issue, outcome="released",
                               request_id=trace.request_id, embargo_days=grant.embargo_days)]

    async def row(self, *, subject: str, at: datetime, kind: str, node: str, service: str, service_title: str,
                  fields, purpose: str, issue: str | None, outcome: str, request_id: str | None,
                  embargo_days: int = 0) -> dict:
        """``subject``: the citizen's ID number as the department gave it (kept only as its keyed hash)."""
        return {"subject_hash": self.subject_hash(subject.strip().upper()), "at": at,
                "visible_from": rules.visible_from(at, embargo_days), "kind": kind, "node": node,
                "node_name": await self._node_name(node), "service": service[:200],
                "service_title": service_title[:200], "fields_used": list(fields), "purpose": purpose,
                "issue": issue[:200] if issue else None, "outcome": outcome, "request_id": request_id}

    async def license_used(self, use: LicenseUse) -> None:
        """A license asked for by a department: on the release's transaction, if any."""
        if use.holder_kind != "person":
            return
        await DataUse.create(**await self.row(
            subject=use.holder, at=use.at, kind=LICENSE_EXCHANGE, node=use.node,
            service=f"license:{use.license_type}", service_title=use.license_title, fields=use.fields,
            purpose=use.purpose, issue=None, outcome=use.outcome, request_id=None))

    async def list(self, *, person_id: str, filters: UseFilters = UseFilters(), cursor: str | None = None,
                   limit: int = 20) -> DataUsePage:
        """Newest first; what an embargo still hides is left out (and not counted). A citizen
        without real name has no ID number the hub knows, so no uses."""
        number = await self.identity.id_number_of(person_id=person_id)
        if number is None:
            return DataUsePage([], None)
        query = DataUse.filter(subject_hash=self.subject_hash(number), visible_from__lte=self.clock.now())
        if filters.node:
            query = query.filter(node=filters.node)
        if filters.since:
            query = query.filter(at__gte=filters.since)
        if filters.until:
            query = query.filter(at__lt=filters.until)
        rows, next_cursor = await cursors.newest_first(query, cursor=cursor, limit=max(1, min(limit, MAX_PAGE)))
        return DataUsePage([_view(r) for r in rows], next_cursor)

    async def _node_name(self, code: str) -> str:
        async def load() -> str:
            try:
                return (await self.nodes.get(code)).name
            except NodeNotFound:  # a node removed since: its code is still a fair name
                return code
        return await self._names.get(code, load)


def _view(row: DataUse) -> DataUseView:
    return DataUseView(id=row.id, at=row.at, kind=row.kind, node=row.node, node_name=row.node_name,
                       service=row.service, service_title=row.service_title, fields=tuple(row.fields_used),
                       purpose=row.purpose, issue=row.issue, outcome=row.outcome)
