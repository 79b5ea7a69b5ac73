"""The one way an application's status changes: checked by the state machine (``rules.advance``),
versioned, recorded as a transition with time, actor and reason, its deadlines scheduled, and
announced to the listeners (notifications) on the same connection."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.applications import rules, working_days
from domain.applications.errors import ApplicationChanged
from domain.applications.models import Application, Transition
from domain.applications.ports import TransitionListeners, TransitionNotice
from domain.applications.views import progress_of
from domain.shared.clock import SHANGHAI, Clock
from domain.shared.rows import unsaved


@dataclass(frozen=True)
class Actor:
    kind: str  # rules.CITIZEN, NODE or SYSTEM
    id: str


class Transitions:
    def __init__(self, *, clock: Clock, listeners: TransitionListeners) -> None:
        """``listeners``: the service's own list, so a listener added later is told too."""
        self.clock, self.listeners = clock, listeners

    async def take(self, conn: BaseDBAsyncClient, app: Application, name: str, actor: Actor, *,
                   at: datetime, reason: str | None = None, event_id: str | None = None,
                   changes: dict | None = None) -> Transition:
        """Take transition ``name`` on ``conn``: the row updated if nobody changed it meanwhile,
        the transition recorded and announced. Returns the record."""
        before, fields = self.plan(app, name, at=at, changes=changes)
        updated = await Application.filter(id=app.id, version=app.version).using_db(conn).update(**fields)
        if not updated:
            raise ApplicationChanged()
        for key, value in fields.items():
            setattr(app, key, value)
        record = record_of(app, name, before, actor, at=at, reason=reason, event_id=event_id)
        await record.save(using_db=conn)
        await self.announce(conn, [notice_of(app, name, before, at=at, reason=reason)])
        return record

    def plan(self, app: Application, name: str, *, at: datetime,
             changes: dict | None = None) -> tuple[rules.Progress, dict[str, Any]]:
        """Transition ``name`` as the state machine allows it: the progress before it, and the
        application's fields after it (not yet written)."""
        before = progress_of(app)
        after = rules.advance(before, name, at=at)
        return before, {"status": after.status, "version": app.version + 1, "updated_at": self.clock.now(),
                        **self._schedule(app, before, name, at), **(changes or {})}

    async def announce(self, conn: BaseDBAsyncClient, notices: list[TransitionNotice]) -> None:
        for listener in self.listeners:
            await listener.on_transitions(notices, connection=conn)

    def today(self) -> date:
        return self.clock.now().astimezone(SHANGHAI).date()

    def _schedule(self, app: Application, before: rules.Progress, name: str, at: datetime) -> dict[str, Any]:
        """Timestamps and the deadline a transition sets."""
        day = at.astimezone(SHANGHAI).date()
        fields: dict[str, Any] = {}
        if before.status in rules.CLOCK_RUNNING and rules.is_overdue(before.status, app.due_on, self.today()):
            fields["overdue"] = True  # it left a running clock late: that stays on record
        if name == "accept":
            fields["accepted_at"] = at
            fields["due_on"], fields["calendar_basis"] = working_days.add_working_days(day, app.promised_limit_days)
        elif name == "request_correction":
            fields["correction_requested_at"] = at
        elif name == "resubmit":
            fields["resubmitted_at"] = at
            if before.accepted and app.due_on and app.correction_requested_at:
                # the clock stood still while the citizen corrected: the days left still remain
                asked_on = app.correction_requested_at.astimezone(SHANGHAI).date()
                left = working_days.working_days_between(asked_on, app.due_on)
                fields["due_on"], fields["calendar_basis"] = working_days.add_working_days(day, left)
        elif name in ("approve", "refuse"):
            fields["decided_at"] = at
        elif name in ("reject", "complete", "withdraw"):
            fields["closed_at"] = at
            if name == "reject":
                fields["decided_at"] = at
        return fields


async def under_lock(conn: BaseDBAsyncClient, application_id: int) -> Application:
    """The application re-read under a row lock (PostgreSQL; SQLite has one writer anyway)."""
    return await Application.select_for_update().using_db(conn).get(id=application_id)


def record_of(app: Application, name: str, before: rules.Progress, actor: Actor, *, at: datetime,
              reason: str | None = None, event_id: str | None = None) -> Transition:
    """The record of ``app`` having just taken transition ``name`` (not yet written)."""
    return unsaved(Transition, application_id=app.id, name=name, from_status=before.status,
                   to_status=app.status, at=at, actor_kind=actor.kind, actor_id=actor.id, reason=reason,
                   event_id=event_id)


def notice_of(app: Application, name: str, before: rules.Progress, *, at: datetime,
              reason: str | None = None) -> TransitionNotice:
    return TransitionNotice(number=app.number, person_id=app.person_id, channel=app.channel,
                            matter_name=app.matter_name, transition=name, from_status=before.status,
                            to_status=app.status, at=at, reason=reason, due_on=app.due_on,
                            new=name == "submit")  # applications are created by their submission
