"""What a citizen and the hub's callers see of an application: frozen views built from the rows,
and the small pure functions that build them (no I/O)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from domain.applications import rules
from domain.applications.models import Application, Material, Transition


@dataclass(frozen=True)
class TransitionView:
    name: str
    title: str
    from_status: str | None
    to_status: str
    at: datetime
    actor_kind: str
    reason: str | None


@dataclass(frozen=True)
class MaterialView:
    id: str
    slot: str | None
    kind: str
    filename: str | None
    content_type: str | None
    size: int | None
    sha256: str | None
    license_id: str | None
    license_type: str | None
    created_at: datetime


@dataclass(frozen=True)
class ApplicationView:
    number: str
    matter_code: str
    matter_name: str
    department_code: str
    region_code: str
    node_code: str
    channel: str
    status: str
    promised_limit_days: int
    due_on: date | None
    calendar_basis: str | None
    overdue: bool
    department_reference: str | None
    decision: dict | None
    submitted_at: datetime
    accepted_at: datetime | None
    decided_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime
    version: int
    allowed_actions: tuple[str, ...]  # what the citizen may do now: withdraw, resubmit
    node_name: str | None = None  # detail only
    form: dict | None = None  # detail only: the citizen's own data, shown to them alone
    materials: tuple[MaterialView, ...] = ()
    timeline: tuple[TransitionView, ...] = ()

    @property
    def status_name(self) -> str:
        return rules.STATUS_NAMES[self.status]


@dataclass(frozen=True)
class SubmitResult:
    application: ApplicationView
    replayed: bool  # True: the same Idempotency-Key and body came before; this is the first result


@dataclass(frozen=True)
class ApplicationPage:
    items: list[ApplicationView]
    next_cursor: str | None


@dataclass(frozen=True)
class ListFilters:
    status: str | None = None  # a status, or "open" / "closed"
    matter_code: str | None = None
    submitted_from: date | None = None  # Beijing dates, inclusive
    submitted_until: date | None = None


@dataclass(frozen=True)
class EventOutcome:
    number: str
    event_id: str
    status: str
    applied: bool
    outcome: str  # applied | waiting | stale
    replayed: bool = False


@dataclass(frozen=True)
class MaterialContent:
    data: bytes
    content_type: str
    filename: str | None


def progress_of(app: Application) -> rules.Progress:
    return rules.Progress(status=app.status, accepted=app.accepted_at is not None,
                          resubmitted_at=app.resubmitted_at)


def allowed_actions(app: Application) -> tuple[str, ...]:
    progress = progress_of(app)
    return tuple(name for name in ("withdraw", "resubmit") if rules.may(progress, name))


def application_view(app: Application, today: date, *, node_name: str | None = None, form: dict | None = None,
                     materials: tuple[MaterialView, ...] = (),
                     timeline: tuple[TransitionView, ...] = ()) -> ApplicationView:
    """The application as its citizen sees it; with the rest of the detail when given."""
    return ApplicationView(
        number=app.number, matter_code=app.matter_code, matter_name=app.matter_name,
        department_code=app.department_code, region_code=app.region_code, node_code=app.node_code,
        channel=app.channel, status=app.status, promised_limit_days=app.promised_limit_days,
        due_on=app.due_on, calendar_basis=app.calendar_basis,
        overdue=app.overdue or rules.is_overdue(app.status, app.due_on, today),
        department_reference=app.department_reference, decision=app.decision, submitted_at=app.submitted_at,
        accepted_at=app.accepted_at, decided_at=app.decided_at, closed_at=app.closed_at,
        updated_at=app.updated_at, version=app.version, allowed_actions=allowed_actions(app),
        node_name=node_name, form=form, materials=materials, timeline=timeline)


def transition_view(t: Transition) -> TransitionView:
    return TransitionView(name=t.name, title=rules.TRANSITIONS[t.name].title, from_status=t.from_status,
                          to_status=t.to_status, at=t.at, actor_kind=t.actor_kind, reason=t.reason)


def material_view(m: Material) -> MaterialView:
    return MaterialView(id=m.public_id, slot=m.slot, kind=m.kind, filename=m.filename,
                        content_type=m.content_type, size=m.size, sha256=m.sha256, license_id=m.license_id,
                        license_type=m.license_type,
                        created_at=m.created_at)
