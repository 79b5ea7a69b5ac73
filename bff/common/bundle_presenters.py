"""Shapes of bundles per channel. Mini-programs get each step's title, status and what to do
(setData is slow on big payloads) and the page a message opens; the app gets every field, the
timeline and the outputs. Times in Beijing time."""
from __future__ import annotations

from datetime import datetime

from bff.common.bundle_schemas import (
    BundleCardOut,
    BundleOut,
    FormOut,
    RunDetailCompact,
    RunDetailFull,
    RunSummaryCompact,
    RunSummaryFull,
)
from bff.common.schemas import shaped
from domain.bundles.views import ConfirmationView, PrefilledForm, RunView, StepView
from domain.shared.clock import SHANGHAI

MINI_PAGE = "pages/bundles/detail?no={number}"
APP_LINK = "govhub://bundles/{number}"
CONFIRM_PAGE = "pages/bundles/confirm?no={number}"


def _time(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


@shaped(BundleCardOut)
def bundle_card(definition: dict) -> dict:
    """A published bundle as the list shows it."""
    return {"code": definition["code"], "name": definition["name"], "summary": definition.get("summary", ""),
            "region_code": definition["region_code"],
            "steps": [{"key": s["key"], "title": s["title"], "optional": bool(s.get("optional", False))}
                      for s in definition["steps"]]}


@shaped(BundleOut)
def bundle_detail(definition: dict) -> dict:
    return {**bundle_card(definition), "form": definition["form"],
            "steps": [{"key": s["key"], "title": s["title"], "optional": bool(s.get("optional", False)),
                       "after": s.get("after", []), "matter_code": s["matter_code"],
                       "produces": [p["license_type"] for p in s.get("produces", [])]}
                      for s in definition["steps"]],
            "confirmation": ({"title": definition["confirmation"]["title"],
                              "before": definition["confirmation"]["before"]}
                             if definition.get("confirmation") else None)}


@shaped(FormOut)
def prefilled(form: PrefilledForm) -> dict:
    return {"bundle": bundle_detail(form.bundle), "values": form.values, "sources": form.sources,
            "locked": list(form.locked)}


def _step_compact(s: StepView) -> dict:
    shown = {"key": s.key, "title": s.title, "status": s.status, "status_name": s.status_name,
             "optional": s.optional, "application_number": s.application_number}
    if s.failure:
        shown["failure"] = s.failure
    if s.last_error:
        shown["waiting_because"] = s.last_error
    return shown


def _step_full(s: StepView) -> dict:
    return {**_step_compact(s), "matter_code": s.matter_code, "after": list(s.after), "attempt": s.attempt,
            "application_status": s.application_status, "outputs": s.outputs,
            "compensation_number": s.compensation_number, "history": s.history,
            "submitted_at": _time(s.submitted_at), "finished_at": _time(s.finished_at)}


def _summary(r: RunView) -> dict:
    return {"number": r.number, "bundle_code": r.bundle_code, "bundle_name": r.bundle_name, "status": r.status,
            "status_name": r.status_name, "created_at": _time(r.created_at)}


@shaped(RunSummaryCompact)
def summary_compact(r: RunView) -> dict:
    return {**_summary(r), "page": MINI_PAGE.format(number=r.number)}


@shaped(RunSummaryFull)
def summary_full(r: RunView) -> dict:
    return {**_summary(r), "channel": r.channel, "bundle_version": r.bundle_version,
            "confirmation": r.confirmation, "updated_at": _time(r.updated_at),
            "completed_at": _time(r.completed_at), "deadline_at": _time(r.deadline_at),
            "link": APP_LINK.format(number=r.number)}


@shaped(RunDetailCompact)
def detail_compact(r: RunView) -> dict:
    return {**summary_compact(r), "steps": [_step_compact(s) for s in r.steps],
            "failed_steps": list(r.failed_steps), "allowed_actions": list(r.allowed_actions),
            "confirmation": r.confirmation}


@shaped(RunDetailFull)
def detail_full(r: RunView) -> dict:
    return {**summary_full(r), "steps": [_step_full(s) for s in r.steps], "failed_steps": list(r.failed_steps),
            "allowed_actions": list(r.allowed_actions), "form": r.form,
            "timeline": [{"at": _time(e.at), "step": e.step_key, "kind": e.kind, "message": e.message}
                         for e in r.events]}


def confirmation(c: ConfirmationView, *, compact: bool) -> dict:
    shown = {"number": c.number, "bundle_name": c.bundle_name, "title": c.title,
             "applicant_name_masked": c.applicant_name_masked, "facts": c.facts, "digest": c.digest,
             "status": c.status,
             "created_at": _time(c.created_at)}
    return {**shown, "page": CONFIRM_PAGE.format(number=c.number)} if compact else shown
