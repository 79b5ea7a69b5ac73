"""Shapes of applications per channel. Mini-programs get few fields and the page path a message
opens (setData is slow on big payloads); the app gets the whole record and its deep link.
Times are shown in Beijing time."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from bff.common.schemas import Day, Out, Time, shaped
from domain.applications.rules import STATUS_NAMES
from domain.applications.views import ApplicationView, MaterialView, TransitionView
from domain.shared.clock import SHANGHAI

MINI_PAGE = "pages/applications/detail?no={number}"  # WeChat and Alipay page path
APP_LINK = "govhub://applications/{number}"  # the app's URL scheme


def _time(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def _day(value) -> str | None:
    return value.isoformat() if value else None


class ApplicationSummaryCompact(Out):
    number: str = Field(examples=["330106-20261127-000123"])
    matter_name: str
    status: str = Field(description="submitted | accepted | in_review | correction_requested | approved | …")
    status_name: str
    submitted_at: Time | None
    due_on: Day | None = Field(description="the promised day, in working days from acceptance")
    overdue: bool
    page: str = Field(description="the mini-program page that shows it")


class ApplicationSummaryFull(ApplicationSummaryCompact):
    matter_code: str
    department_code: str
    region_code: str
    node_code: str
    channel: str
    promised_limit_days: int
    calendar_basis: str | None
    accepted_at: Time | None
    decided_at: Time | None
    closed_at: Time | None
    updated_at: Time | None
    allowed_actions: list[str] = Field(description="withdraw, resubmit: what the citizen may do now")
    link: str = Field(description="the app's deep link")


class StepCompact(Out):
    title: str
    status_name: str
    at: Time | None
    reason: str | None


class StepFull(StepCompact):
    name: str
    from_status: str | None
    to_status: str
    actor: str = Field(description="citizen | department | hub")


class MaterialCompact(Out):
    id: str
    name: str | None = Field(description="the matter's material it satisfies")
    kind: str = Field(description="upload | license")
    filename: str | None


class MaterialOut(MaterialCompact):
    content_type: str | None
    size: int | None
    sha256: str | None
    license_id: str | None
    license_type: str | None


class CheckOut(Out):
    rule: str | None
    title: str | None
    result: str | None = Field(description="passed | failed | undecided")
    result_name: str | None
    message: str | None


class InstantApprovalOut(Out):
    outcome: str = Field(description="approved | manual_review")
    summary: str | None
    checks: list[CheckOut]
    credit_code: str | None
    license_id: str | None


class ApplicationDetailCompact(ApplicationSummaryCompact):
    node_name: str | None
    allowed_actions: list[str]
    timeline: list[StepCompact]
    materials: list[MaterialCompact]
    form: dict[str, Any] | None = Field(description="the citizen's own answers")
    checks: list[dict[str, Any]] | None = Field(description="the automatic checks, as recorded")
    instant_approval: InstantApprovalOut | None


class ApplicationDetailFull(ApplicationSummaryFull):
    node_name: str | None
    department_reference: str | None
    version: int
    timeline: list[StepFull]
    materials: list[MaterialOut]
    form: dict[str, Any] | None
    decision: dict[str, Any] | None = Field(description="the decision as recorded (checks, results)")
    instant_approval: InstantApprovalOut | None


@shaped(ApplicationSummaryCompact)
def summary_compact(a: ApplicationView) -> dict:
    return {"number": a.number, "matter_name": a.matter_name, "status": a.status,
            "status_name": a.status_name, "submitted_at": _time(a.submitted_at), "due_on": _day(a.due_on),
            "overdue": a.overdue,
            "page": MINI_PAGE.format(number=a.number)}


@shaped(ApplicationSummaryFull)
def summary_full(a: ApplicationView) -> dict:
    return {**summary_compact(a), "matter_code": a.matter_code, "department_code": a.department_code,
            "region_code": a.region_code, "node_code": a.node_code, "channel": a.channel,
            "promised_limit_days": a.promised_limit_days, "calendar_basis": a.calendar_basis,
            "accepted_at": _time(a.accepted_at), "decided_at": _time(a.decided_at),
            "closed_at": _time(a.closed_at),
            "updated_at": _time(a.updated_at), "allowed_actions": list(a.allowed_actions),
            "link": APP_LINK.format(number=a.number)}


def _step_compact(t: TransitionView) -> dict:
    return {"title": t.title, "status_name": STATUS_NAMES[t.to_status], "at": _time(t.at), "reason": t.reason}


def _step_full(t: TransitionView) -> dict:
    return {**_step_compact(t), "name": t.name, "from_status": t.from_status, "to_status": t.to_status,
            "actor": t.actor_kind}


@shaped(MaterialOut)
def material(m: MaterialView) -> dict:
    return {"id": m.id, "name": m.slot, "kind": m.kind, "filename": m.filename,
            "content_type": m.content_type, "size": m.size, "sha256": m.sha256, "license_id": m.license_id,
            "license_type": m.license_type}


def _material_compact(m: MaterialView) -> dict:
    return {"id": m.id, "name": m.slot, "kind": m.kind, "filename": m.filename}


def _checks(a: ApplicationView) -> list[dict] | None:
    return a.decision.get("checks") if a.decision else None


# instant approval: what the automatic review found, in plain Chinese (docs/instant-approval.md)
RESULT_NAMES = {"passed": "通过", "failed": "未通过", "undecided": "待人工核实"}


def _instant_approval(a: ApplicationView) -> dict | None:
    """Which rules passed and which did not; the credit code and license when approved at once."""
    if not a.decision or "checks" not in a.decision:
        return None
    results = a.decision.get("results") or {}
    return {"outcome": "approved" if a.decision.get("approved") else "manual_review",
            "summary": results.get("summary"),
            "checks": [{"rule": c.get("rule"), "title": c.get("title"), "result": c.get("result"),
                        "result_name": RESULT_NAMES.get(c.get("result"), c.get("result")),
                        "message": c.get("message")} for c in a.decision["checks"]],
            "credit_code": results.get("credit_code"), "license_id": results.get("license_id")}


@shaped(ApplicationDetailCompact)
def detail_compact(a: ApplicationView) -> dict:
    return {**summary_compact(a), "node_name": a.node_name, "allowed_actions": list(a.allowed_actions),
            "timeline": [_step_compact(t) for t in a.timeline],
            "materials": [_material_compact(m) for m in a.materials], "form": a.form, "checks": _checks(a),
            "instant_approval": _instant_approval(a)}  # instant approval


@shaped(ApplicationDetailFull)
def detail_full(a: ApplicationView) -> dict:
    return {**summary_full(a), "node_name": a.node_name, "department_reference": a.department_reference,
            "version": a.version, "timeline": [_step_full(t) for t in a.timeline],
            "materials": [material(m) for m in a.materials], "form": a.form, "decision": a.decision,
            "instant_approval": _instant_approval(a)}  # instant approval
