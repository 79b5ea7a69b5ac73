"""Checking a submission before anything is written: the matter is offered on the channel and to
the entry submitting it, the form and materials fit the matter, and a node handles it.

The matter and its handling nodes come from a few seconds' memory (``RecentReads``), as frozen
snapshots: what every submit reads and almost nothing changes, kept without sharing a mutable ORM
object between requests.
"""
from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from domain.applications import material_rules, rules
from domain.applications.errors import MatterNotOnline
from domain.applications.intake import Submission
from domain.applications.materials import Materials
from domain.shared.memo import Memo

# How stale a submit's view of the matter and its handling nodes may be in this process: a matter
# switched off or a node disabled is honoured within this many seconds (reading them on every
# submit cost more than its writes: docs/benchmarks.md). Applicants are not memoised: each citizen
# submits rarely, so a memo would not hit outside a benchmark; a batch reads its applicants in one query.
MEMO_SECONDS = 5.0


@dataclass(frozen=True)
class MatterTerms:
    """What a submission needs of a catalog matter, as it was when read."""

    id: int
    code: str
    catalog_code: str
    name: str
    entry: str
    region_code: str
    department_code: str
    channels: tuple[str, ...]
    online_depth: int
    form_schema: dict  # a copy: never the ORM object's own
    materials: list  # a copy, likewise
    promised_limit_days: int
    instant_approval: bool

    @cached_property
    def form_schema_json(self) -> str:
        """The schema's ``rules.canonical_json``, made once per read (it names the compiled check)."""
        return rules.canonical_json(self.form_schema or {})

    @classmethod
    def of(cls, matter) -> MatterTerms:
        return cls(id=matter.id, code=matter.code, catalog_code=matter.catalog_code, name=matter.name,
                   entry=matter.entry, region_code=matter.region_code, department_code=matter.department_code,
                   channels=tuple(matter.channels), online_depth=matter.online_depth,
                   form_schema=copy.deepcopy(matter.form_schema), materials=copy.deepcopy(matter.materials),
                   promised_limit_days=matter.promised_limit_days, instant_approval=matter.instant_approval)


class RecentReads:
    """The matter and its candidate nodes, read at most once per ``MEMO_SECONDS`` per process:
    the one place that trades freshness for a submit's speed."""

    def __init__(self, *, catalog, nodes) -> None:
        self.catalog, self.nodes = catalog, nodes
        self._matters: Memo[str, MatterTerms] = Memo(seconds=MEMO_SECONDS)
        self._handlers: Memo[tuple[str, str | None], tuple] = Memo(seconds=MEMO_SECONDS)

    async def matter(self, code: str) -> MatterTerms:
        async def load() -> MatterTerms:
            return MatterTerms.of(await self.catalog.matter(code=code))
        return await self._matters.get(code, load)

    async def handlers(self, department: str, province: str | None) -> tuple:
        """The department's node and the province's platforms (frozen ``NodeRecord``s)."""
        async def load() -> tuple:
            return tuple(await self.nodes.code_or_province(code=department, province_region=province))
        return await self._handlers.get((department, province), load)

    def forget(self) -> None:
        """For a store emptied under a running hub (the test harness), where they would answer from before."""
        self._matters.clear()
        self._handlers.clear()


class SubmissionCheck:
    def __init__(self, *, reads: RecentReads, materials: Materials) -> None:
        self.reads, self.materials = reads, materials

    async def check(self, *, person_id: str, channel: str, matter_code: str, form: dict,
                    materials: Sequence[dict], entry: str) -> Submission:
        """Everything that can refuse a submission before anything is written, but the applicant,
        who is read where the submission is stored (``SubmissionWriter``)."""
        matter = await self.reads.matter(matter_code)
        rules.check_entry(matter_code=matter.code, matter_name=matter.name, matter_entry=matter.entry, entry=entry)
        if channel not in matter.channels or not rules.may_apply_online(matter.online_depth):
            raise MatterNotOnline(f"“{matter.name}”暂不支持在此渠道在线申请", matter_code=matter.code)
        rules.check_form(matter.form_schema, form, schema_json=matter.form_schema_json)
        candidates = await self.reads.handlers(matter.department_code, rules.province_of(matter.region_code))
        node_code = rules.handling_node(department_code=matter.department_code, region_code=matter.region_code,
                                        nodes=[rules.NodeFacts(n.code, n.kind, n.region_code, n.status)
                                               for n in candidates])
        resolved = await self.materials.resolve(person_id, materials)
        material_rules.check_materials(matter.materials, [r.given for r in resolved])
        return Submission(person_id=person_id, channel=channel, form=form, applicant=None,
                          matter=matter, node_code=node_code, materials=resolved,
                          node_name=next(n.name for n in candidates if n.code == node_code), entry=entry)
