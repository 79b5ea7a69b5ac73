"""What bundle use cases return, and how stored rows become it (no I/O here)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.bundles import rules
from domain.bundles.models import Bundle, BundleRun, BundleStep
from domain.shared.values import mask_id_number


@dataclass(frozen=True)
class BundleView:
    code: str
    name: str
    status: str
    version: int
    published_version: int | None
    draft: dict
    published: dict | None
    updated_at: datetime
    published_at: datetime | None


@dataclass(frozen=True)
class PrefilledForm:
    bundle: dict  # the published declaration, as citizens see it
    values: dict[str, Any]  # pre-filled answers (identity ones masked: the hub fills them itself)
    sources: dict[str, str]  # field -> where its value came from
    locked: tuple[str, ...]  # fields the citizen cannot change


@dataclass(frozen=True)
class StepView:
    key: str
    title: str
    matter_code: str
    optional: bool
    after: tuple[str, ...]
    status: str
    attempt: int
    application_number: str | None
    application_status: str | None
    outputs: dict
    failure: dict | None
    last_error: str | None
    compensation_number: str | None
    history: list
    submitted_at: datetime | None
    finished_at: datetime | None

    @property
    def status_name(self) -> str:
        return rules.STEP_NAMES.get(self.status, self.status)


@dataclass(frozen=True)
class EventView:
    at: datetime
    step_key: str | None
    kind: str
    message: str


@dataclass(frozen=True)
class RunView:
    number: str
    bundle_code: str
    bundle_name: str
    bundle_version: int
    channel: str
    status: str
    confirmation: str | None
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    deadline_at: datetime
    stuck: bool
    steps: tuple[StepView, ...] = ()
    events: tuple[EventView, ...] = ()
    form: dict | None = None  # detail only: the citizen's own answers
    failed_steps: tuple[str, ...] = ()
    allowed_actions: tuple[str, ...] = ()

    @property
    def status_name(self) -> str:
        return rules.RUN_NAMES.get(self.status, self.status)


@dataclass(frozen=True)
class SubmitResult:
    run: RunView
    replayed: bool


@dataclass(frozen=True)
class ConfirmationView:
    number: str
    bundle_name: str
    title: str
    applicant_name_masked: str | None
    facts: dict[str, Any]  # what the second party confirms: the covered facts, the parties masked
    digest: str  # of those facts and parties: confirming sends it back (what one saw is what one confirms)
    status: str
    created_at: datetime


def run_view(run: BundleRun) -> RunView:
    """A run as lists show it (no steps, events or form)."""
    return RunView(number=run.number, bundle_code=run.bundle_code, bundle_name=run.bundle_name,
                   bundle_version=run.bundle_version, channel=run.channel, status=run.status,
                   confirmation=run.confirmation, created_at=run.created_at, updated_at=run.updated_at,
                   completed_at=run.completed_at, deadline_at=run.deadline_at, stuck=run.stuck_at is not None)


def step_view(definition: rules.StepDef, row: BundleStep) -> StepView:
    return StepView(key=row.key, title=definition.title, matter_code=definition.matter_code,
                    optional=definition.optional, after=definition.after, status=row.status, attempt=row.attempt,
                    application_number=row.application_number, application_status=row.application_status,
                    outputs=row.outputs or {}, failure=row.failure, last_error=row.last_error,
                    compensation_number=row.compensation_number, history=row.history or [],
                    submitted_at=row.submitted_at, finished_at=row.finished_at)


def bundle_view(row: Bundle) -> BundleView:
    return BundleView(code=row.code, name=row.name, status=row.status, version=row.version,
                      published_version=row.published_version, draft=row.draft, published=row.published,
                      updated_at=row.updated_at, published_at=row.published_at)


def masked_form(bundle: rules.BundleDef, answers: dict) -> dict:
    """The citizen's answers, ID numbers masked (the page shows, it never needs them clear)."""
    shown = dict(answers)
    for name, source in rules.locked_fields(bundle).items():
        if source == "identity.id_number" and isinstance(shown.get(name), str):
            shown[name] = mask_id_number(shown[name])
    for name in bundle.confirmation["parties"] if bundle.confirmation else ():
        if isinstance(shown.get(name), str):
            shown[name] = mask_id_number(shown[name])
    return shown
