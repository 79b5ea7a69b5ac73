"""The events departments post back about the applications they handle
(POST /gov/v1/applications/{number}/events): every event kept, its first answer replayed, and
never an application moved backwards (``rules.classify_event`` and ``rules.settle`` decide)."""
from __future__ import annotations

import logging
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.applications import rules
from domain.applications.errors import ApplicationNotFound
from domain.applications.models import Application, NodeEvent
from domain.applications.transitions import Actor, Transitions, under_lock
from domain.applications.views import EventOutcome, progress_of
from domain.shared import node_events

log = logging.getLogger("govhub.applications")


class DepartmentEvents:
    def __init__(self, *, transitions: Transitions) -> None:
        self.transitions = transitions

    async def apply(self, *, node_code: str, number: str, event_id: str, type: str, occurred_at: datetime,
                    reason: str | None = None, department_reference: str | None = None) -> EventOutcome:
        """A node's event about an application it handles."""
        body_hash = rules.fingerprint({"number": number, "type": type, "occurred_at": occurred_at.isoformat(),
                                       "reason": reason, "department_reference": department_reference})
        app = await Application.get_or_none(**rules.by_number(number)) if isinstance(number, str) else None
        if app is None or app.node_code != node_code:  # only the handling node; others learn nothing
            raise ApplicationNotFound(f"未找到由本节点办理的办件 {number}")
        now = self.transitions.clock.now()

        async def apply() -> dict:
            async with in_transaction() as conn:
                locked = await under_lock(conn, app.id)
                verdict = rules.classify_event(progress_of(locked), type, occurred_at)
                event = await NodeEvent.create(
                    node_code=node_code, event_id=event_id, application_id=locked.id, type=type,
                    occurred_at=occurred_at, reason=reason, department_reference=department_reference,
                    body_hash=body_hash, outcome=verdict, answer={}, received_at=now, using_db=conn)
                if verdict == rules.APPLY:
                    await self._apply(conn, locked, event)
                    await self._settle(conn, locked)
                answer = {"number": number, "event_id": event_id, "status": locked.status,
                          "applied": verdict == rules.APPLY, "outcome": verdict}
                await NodeEvent.filter(id=event.id).using_db(conn).update(answer=answer)
            if verdict != rules.APPLY:
                log.info("application %s: %s event %s from %s recorded, not applied (%s)", number, type, event_id,
                         node_code, verdict)
            return answer

        answer, replayed = await node_events.once(NodeEvent, node_code=node_code, event_id=event_id,
                                                  body_hash=body_hash, apply=apply)
        return EventOutcome(**answer, replayed=replayed)

    async def _apply(self, conn: BaseDBAsyncClient, app: Application, event: NodeEvent) -> None:
        changes = {"department_reference": event.department_reference} if event.department_reference else {}
        await self.transitions.take(conn, app, rules.EVENT_TRANSITIONS[event.type],
                                    Actor(rules.NODE, event.node_code), at=event.occurred_at,
                                    reason=event.reason, event_id=event.event_id, changes=changes)

    async def _settle(self, conn: BaseDBAsyncClient, app: Application) -> None:
        """Events that arrived ahead of their predecessors, applied now that they may be."""
        rows = await NodeEvent.filter(application_id=app.id, outcome=rules.WAIT).using_db(conn)
        if not rows:
            return
        waiting = {e.id: e for e in rows}
        facts = [rules.NodeEventFacts(key=e.id, type=e.type, occurred_at=e.occurred_at) for e in rows]
        _, decided = rules.settle(progress_of(app), facts)
        for fact, verdict in decided:
            if verdict == rules.APPLY:
                await self._apply(conn, app, waiting[fact.key])
            await NodeEvent.filter(id=fact.key).using_db(conn).update(outcome=verdict)
