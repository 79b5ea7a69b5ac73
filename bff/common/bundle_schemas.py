"""Shapes of bundle answers per channel (bff/common/bundle_presenters.py): mini-programs get each
step's title, status and what to do; the app every field, the timeline and the outputs."""
from __future__ import annotations

from typing import Any

from pydantic import Field

from bff.common.schemas import Out, Time


class StepCard(Out):
    key: str
    title: str
    optional: bool


class BundleCardOut(Out):
    code: str = Field(examples=["newborn"])
    name: str
    summary: str
    region_code: str
    steps: list[StepCard]


class StepDeclared(StepCard):
    after: list[str] = Field(description="the steps it waits for")
    matter_code: str
    produces: list[str] = Field(description="license types the step's approval issues")


class ConfirmationDeclared(Out):
    title: str
    before: str = Field(description="the step that waits for the confirmation")


class BundleOut(BundleCardOut):
    form: dict[str, Any] = Field(description="the one form (JSON Schema)")
    steps: list[StepDeclared]
    confirmation: ConfirmationDeclared | None


class FormOut(Out):
    bundle: BundleOut
    values: dict[str, Any] = Field(description="pre-filled answers; identity ones masked (the hub fills them itself)")
    sources: dict[str, str] = Field(description="field -> identity.name | identity.id_number | license.<type>.<field>")
    locked: list[str] = Field(description="fields the hub fills from the real-name record")


class RunStepCompact(Out):
    key: str
    title: str
    status: str
    status_name: str
    optional: bool
    application_number: str | None
    failure: dict[str, Any] | None = Field(None, description="why the step failed, when it did")
    waiting_because: str | None = Field(None, description="why the step waits, when it does")


class RunStepFull(RunStepCompact):
    matter_code: str
    after: list[str]
    attempt: int
    application_status: str | None
    outputs: dict[str, Any]
    compensation_number: str | None
    history: list[dict[str, Any]]
    submitted_at: Time | None
    finished_at: Time | None


class RunSummaryCompact(Out):
    number: str = Field(examples=["B330106-20261127-8F3A2C01"])
    bundle_code: str
    bundle_name: str
    status: str
    status_name: str
    created_at: Time
    page: str = Field(description="the mini-program page that shows it")


class RunSummaryFull(Out):
    number: str = Field(examples=["B330106-20261127-8F3A2C01"])
    bundle_code: str
    bundle_name: str
    status: str
    status_name: str
    created_at: Time
    channel: str
    bundle_version: int
    confirmation: str | None = Field(description="the second party's answer: pending | confirmed | declined")
    updated_at: Time
    completed_at: Time | None
    deadline_at: Time
    link: str = Field(description="the app's deep link")


class RunDetailCompact(RunSummaryCompact):
    steps: list[RunStepCompact]
    failed_steps: list[str]
    allowed_actions: list[str]
    confirmation: str | None


class RunEventOut(Out):
    at: Time
    step: str | None
    kind: str
    message: str


class RunDetailFull(RunSummaryFull):
    steps: list[RunStepFull]
    failed_steps: list[str]
    allowed_actions: list[str]
    form: dict[str, Any] | None = Field(description="the citizen's own answers")
    timeline: list[RunEventOut]


class ConfirmationFull(Out):
    number: str
    bundle_name: str
    title: str
    applicant_name_masked: str | None
    facts: dict[str, Any] = Field(description="what the second party confirms: every covered fact, the "
                                               "parties' ID numbers masked")
    digest: str = Field(description="digest of those facts and parties; send it back to confirm")
    status: str
    created_at: Time


class ConfirmationCompact(ConfirmationFull):
    page: str = Field(description="the mini-program page to confirm on")
