"""The stub department's review script: which events it sends back for a delivery (pure).

A submitted application is accepted, its review started, approved and completed. Demo markers in
any text value of the form change the path (docs/delivery.md lists them):

- ``DEMO-REJECT``: rejected at intake (不予受理), nothing more;
- ``DEMO-CORRECTION``: accepted, review started, correction requested (补正) — the citizen's
  resubmission is then reviewed again (and approved unless it still carries the marker);
- ``DEMO-REFUSE``: accepted, review started, refused (不予许可), completed.

A resubmission skips intake; a withdrawal cancels what is not yet sent and sends nothing.
"""
from __future__ import annotations

from typing import Any

from adapters.departments.stub import licenses

REJECT, CORRECTION, REFUSE = "DEMO-REJECT", "DEMO-CORRECTION", "DEMO-REFUSE"
REASONS = {
    "rejected": "材料不齐全，不予受理（演示）",
    "correction_requested": "请补正申请材料（演示）",
    "refused": "不符合许可条件，不予许可（演示）",
}


def _texts(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def _has(form: Any, marker: str) -> bool:
    return any(marker in text for text in _texts(form))


def steps(kind: str, payload: dict[str, Any], today: str) -> list[tuple[str, str | None]]:
    """(event type, reason) in order, for one delivery (``today``: the stub's Beijing date)."""
    events = _steps(kind, payload)
    # bundles: an approval that issues an e-license issues it before "completed"
    return licenses.with_issuance(events, payload, today) if kind == "node.application.submitted" else events


def _steps(kind: str, payload: dict[str, Any]) -> list[tuple[str, str | None]]:
    form = payload.get("form") or {}
    if kind == "node.application.submitted":
        if _has(form, REJECT):
            return [("rejected", REASONS["rejected"])]
        return [("accepted", None), *_review(form)]
    if kind == "node.application.resubmitted":
        return _review(form)
    return []  # withdrawn, or a kind this department does not review


def _review(form: Any) -> list[tuple[str, str | None]]:
    if _has(form, CORRECTION):
        return [("review_started", None), ("correction_requested", REASONS["correction_requested"])]
    if _has(form, REFUSE):
        return [("review_started", None), ("refused", REASONS["refused"]), ("completed", None)]
    return [("review_started", None), ("approved", None), ("completed", None)]
