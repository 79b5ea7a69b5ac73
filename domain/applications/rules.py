"""Pure rules of applications (办件): no I/O, no clock of their own.

- the state machine: named transitions, who may take them, and what a node's event does when it
  arrives late, early or twice (``classify_event``, ``settle``);
- routing: which node handles a matter; which capability may enter it;
- numbers, form checks, idempotency fingerprints.

Deadlines in working days are ``working_days.py``; materials and uploads ``material_rules.py``.
"""
from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator

from domain.applications.errors import (
    FormInvalid,
    MatterEntryNotAllowed,
    NoHandlingNode,
    TransitionNotAllowed,
)
from domain.partitions.rules import day_window_of_number

log = logging.getLogger("govhub.applications")

# --- the state machine ----------------------------------------------------------------------

DRAFT = "draft"
SUBMITTED = "submitted"
ACCEPTED = "accepted"  # 受理
REJECTED = "rejected"  # 不予受理 (at intake)
IN_REVIEW = "in_review"  # 审查中
CORRECTION_REQUESTED = "correction_requested"  # 补正
APPROVED = "approved"  # 准予
REFUSED = "refused"  # 不予许可
COMPLETED = "completed"  # 办结
WITHDRAWN = "withdrawn"  # 撤回

STATUSES = (DRAFT, SUBMITTED, ACCEPTED, REJECTED, IN_REVIEW, CORRECTION_REQUESTED, APPROVED, REFUSED,
            COMPLETED, WITHDRAWN)
STATUS_NAMES = {DRAFT: "草稿", SUBMITTED: "已提交", ACCEPTED: "已受理", REJECTED: "不予受理", IN_REVIEW: "审查中",
                CORRECTION_REQUESTED: "待补正", APPROVED: "准予办理", REFUSED: "不予办理", COMPLETED: "已办结",
                WITHDRAWN: "已撤回"}
TERMINAL = frozenset({REJECTED, COMPLETED, WITHDRAWN})
OPEN = frozenset(STATUSES) - TERMINAL - {DRAFT}  # counted on the home page as "my open items"
CLOCK_RUNNING = frozenset({ACCEPTED, IN_REVIEW})  # the promised limit runs only once accepted
# How far along an application is. A node's event never moves an application to a lower rank;
# only the citizen's resubmission does (back to submitted or in review).
RANK = {DRAFT: 0, SUBMITTED: 1, ACCEPTED: 2, REJECTED: 2, IN_REVIEW: 3, CORRECTION_REQUESTED: 4,
        APPROVED: 5, REFUSED: 5, COMPLETED: 6, WITHDRAWN: 6}

CITIZEN, NODE, SYSTEM = "citizen", "node", "system"


@dataclass(frozen=True)
class TransitionRule:
    name: str
    sources: frozenset[str]
    target: str  # RESUBMIT_TARGET: decided by whether the application was already accepted
    actor: str
    title: str


RESUBMIT_TARGET = "*"
TRANSITIONS = {t.name: t for t in (
    TransitionRule("submit", frozenset({DRAFT}), SUBMITTED, CITIZEN, "提交申请"),
    TransitionRule("accept", frozenset({SUBMITTED}), ACCEPTED, NODE, "受理"),
    TransitionRule("reject", frozenset({SUBMITTED}), REJECTED, NODE, "不予受理"),
    TransitionRule("start_review", frozenset({ACCEPTED}), IN_REVIEW, NODE, "开始审查"),
    TransitionRule("request_correction", frozenset({SUBMITTED, ACCEPTED, IN_REVIEW}), CORRECTION_REQUESTED,
                   NODE, "要求补正"),
    # back to intake when the correction was asked before acceptance, else back to review
    TransitionRule("resubmit", frozenset({CORRECTION_REQUESTED}), RESUBMIT_TARGET, CITIZEN, "补正后重新提交"),
    TransitionRule("approve", frozenset({ACCEPTED, IN_REVIEW}), APPROVED, NODE, "准予办理"),
    TransitionRule("refuse", frozenset({ACCEPTED, IN_REVIEW}), REFUSED, NODE, "不予办理"),
    TransitionRule("complete", frozenset({APPROVED, REFUSED}), COMPLETED, NODE, "办结"),
    # the citizen may withdraw until a decision is made
    TransitionRule("withdraw", frozenset({SUBMITTED, ACCEPTED, IN_REVIEW, CORRECTION_REQUESTED}), WITHDRAWN,
                   CITIZEN, "撤回申请"),
)}
# A node's event types (the department contract, docs/delivery.md) and the transition each takes.
EVENT_TRANSITIONS = {"accepted": "accept", "rejected": "reject", "review_started": "start_review",
                     "correction_requested": "request_correction", "approved": "approve", "refused": "refuse",
                     "completed": "complete"}
EVENT_TYPES = tuple(EVENT_TRANSITIONS)


@dataclass(frozen=True)
class Progress:
    """What the state machine needs to know of an application."""

    status: str
    accepted: bool = False  # accepted once (a resubmission then returns to review, not intake)
    resubmitted_at: datetime | None = None


def target_of(name: str, progress: Progress) -> str:
    rule = _rule(name)
    if rule.target == RESUBMIT_TARGET:
        return IN_REVIEW if progress.accepted else SUBMITTED
    return rule.target


def may(progress: Progress, name: str) -> bool:
    return progress.status in _rule(name).sources


def advance(progress: Progress, name: str, *, at: datetime) -> Progress:
    """The progress after taking transition ``name``; TransitionNotAllowed if it may not be taken."""
    rule = _rule(name)
    if progress.status not in rule.sources:
        raise TransitionNotAllowed(
            f"办件当前状态为“{STATUS_NAMES[progress.status]}”，不能{rule.title}",
            current_status=progress.status, transition=name)
    target = target_of(name, progress)
    return replace(progress, status=target, accepted=progress.accepted or target == ACCEPTED,
                   resubmitted_at=at if name == "resubmit" else progress.resubmitted_at)


def _rule(name: str) -> TransitionRule:
    try:
        return TRANSITIONS[name]
    except KeyError:
        raise ValueError(f"unknown transition {name!r}") from None


# --- a node's events: late, early or twice ----------------------------------------------------

APPLY, WAIT, STALE = "applied", "waiting", "stale"


@dataclass(frozen=True)
class NodeEventFacts:
    key: Any  # the caller's handle (an event row id)
    type: str
    occurred_at: datetime


def classify_event(progress: Progress, event_type: str, occurred_at: datetime) -> str:
    """What a node's event does now:

    - APPLY: its transition is allowed from the current status;
    - STALE: it would move the application backwards (or it happened before the citizen's latest
      resubmission, so it answers the previous round): recorded, never applied;
    - WAIT: it is ahead of events not yet received (``approved`` before ``accepted``): kept, and
      applied once its predecessors arrive (``settle``)."""
    name = EVENT_TRANSITIONS[event_type]
    if progress.status in TERMINAL:
        return STALE
    if progress.resubmitted_at is not None and occurred_at < progress.resubmitted_at:
        return STALE
    if may(progress, name):
        return APPLY
    return WAIT if RANK[target_of(name, progress)] > RANK[progress.status] else STALE


def settle(progress: Progress,
           waiting: Sequence[NodeEventFacts]) -> tuple[Progress, list[tuple[NodeEventFacts, str]]]:
    """Apply waiting events that became applicable, oldest first, until none does.

    Returns the final progress and the decided events in order: (event, APPLY or STALE). Events
    still waiting are left out."""
    pending = sorted(waiting, key=lambda e: (e.occurred_at, str(e.key)))
    decided: list[tuple[NodeEventFacts, str]] = []
    moved = True
    while moved:
        moved = False
        for event in list(pending):
            verdict = classify_event(progress, event.type, event.occurred_at)
            if verdict == WAIT:
                continue
            pending.remove(event)
            decided.append((event, verdict))
            if verdict == APPLY:
                progress = advance(progress, EVENT_TRANSITIONS[event.type], at=event.occurred_at)
                moved = True
                break  # the status changed: look at the oldest again
    return progress, decided


# --- routing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeFacts:
    code: str
    kind: str  # department | province
    region_code: str
    status: str


def province_of(region_code: str) -> str | None:
    """``330106000000`` -> ``330000000000``; national items (``000000000000``) have none."""
    return None if region_code.startswith("00") else region_code[:2] + "0" * 10


def handling_node(*, department_code: str, region_code: str, nodes: Iterable[NodeFacts]) -> str:
    """The node that handles a matter: the department's own node if it has one, else the
    provincial platform of the matter's province. NoHandlingNode before anything is stored."""
    active = [n for n in nodes if n.status == "active"]
    for node in active:
        if node.kind == "department" and node.code == department_code:
            return node.code
    province = province_of(region_code)
    for node in active:
        if node.kind == "province" and province is not None and node.region_code == province:
            return node.code
    raise NoHandlingNode(f"事项所属部门（{department_code}）及所在省份均未接入平台，暂不能在线申请",
                         department_code=department_code)


def may_apply_online(online_depth: int) -> bool:
    """Depth 3 (apply online, verify offline) and 4 (fully online) take online applications."""
    return online_depth >= 3


# --- entry points: which capability submits which matter -------------------------------------

# A matter's ``entry`` (the catalog's ``rules.ENTRIES``) names the capability that submits it; the
# caller of ``ApplicationService.submit`` / ``resubmit`` says which one it is. Only the owner gets
# through, so a generic route never reaches another capability's asset (issue #12): a fund
# withdrawal's payout, a bundle step's confirmed facts.
PLAIN, HOUSING_FUND, BUNDLE = "application", "housing_fund", "bundle"
ENTRIES = (PLAIN, HOUSING_FUND, BUNDLE)
# Where a citizen submits a matter of each entry, relative to the channel's base (/wx/v1, ...).
ENTRY_ROUTES = {PLAIN: "POST /applications", HOUSING_FUND: "POST /housing-fund/withdrawals",
                BUNDLE: "POST /bundles/{code}/submissions"}
ENTRY_NAMES = {PLAIN: "办事申请", HOUSING_FUND: "住房公积金提取", BUNDLE: "“一件事”"}
# Who else may enter a matter: a bundle's step may be a plain matter (the bundle submits it for
# the citizen, as the citizen could); nothing but the fund enters a fund matter.
ALSO_ENTERED_BY = {PLAIN: frozenset({BUNDLE})}


def may_enter(matter_entry: str, entry: str) -> bool:
    """May the capability ``entry`` submit a matter whose entry is ``matter_entry``?"""
    return entry == matter_entry or entry in ALSO_ENTERED_BY.get(matter_entry, frozenset())


def check_entry(*, matter_code: str, matter_name: str, matter_entry: str, entry: str) -> None:
    """Refuse a submission through an entry that does not own the matter, naming the one that does."""
    if entry not in ENTRIES:
        raise ValueError(f"unknown entry {entry!r}")
    if not may_enter(matter_entry, entry):
        raise MatterEntryNotAllowed(
            f"“{matter_name}”不能在此办理，请通过{ENTRY_NAMES.get(matter_entry, matter_entry)}入口办理",
            matter_code=matter_code, entry=matter_entry, route=ENTRY_ROUTES.get(matter_entry))


def check_change_entry(*, number: str, submitted_by: str, entry: str) -> None:
    """An application is changed (resubmitted, its materials attached) only through the entry
    that submitted it."""
    if entry not in ENTRIES:
        raise ValueError(f"unknown entry {entry!r}")
    if submitted_by != entry:
        raise MatterEntryNotAllowed(
            f"办件 {number} 由{ENTRY_NAMES.get(submitted_by, submitted_by)}提交，不能在此修改或补正",
            number=number, entry=submitted_by, route=ENTRY_ROUTES.get(submitted_by))


# --- overdue (deadlines in working days: working_days.py) ------------------------------------


def is_overdue(status: str, due_on: date | None, today: date) -> bool:
    return status in CLOCK_RUNNING and due_on is not None and today > due_on


# --- numbers ----------------------------------------------------------------------------------

SEQUENCE_DIGITS = 6


def number_of(region_code: str, day: date, sequence: int) -> str:
    """``330106-20261127-000123``: the region's six digits, the day (Beijing time), the sequence."""
    return f"{region_code[:6]}-{day:%Y%m%d}-{sequence:0{SEQUENCE_DIGITS}d}"


def by_number(number: str) -> dict[str, Any]:
    """Filter arguments that find an application by its number. The number carries its Beijing
    day of submission, so the lookup also bounds ``submitted_at``: PostgreSQL then looks in one
    month partition instead of every one (docs/partitions.md)."""
    window = day_window_of_number(number)
    if window is None:
        return {"number": number}
    return {"number": number, "submitted_at__gte": window[0], "submitted_at__lt": window[1]}


# --- the form ---------------------------------------------------------------------------------

_MESSAGES = {
    "required": "必填项", "type": "类型有误", "pattern": "格式有误", "minLength": "内容过短", "maxLength": "内容过长",
    "minimum": "数值过小", "maximum": "数值过大", "exclusiveMinimum": "数值过小", "exclusiveMaximum": "数值过大",
    "enum": "不在可选范围内", "const": "取值有误", "format": "格式有误", "additionalProperties": "不支持的字段",
    "minItems": "项数过少", "maxItems": "项数过多",
}
MAX_FORM_BYTES = 65_536


def form_problems(schema: dict, form: Any, *, schema_json: str | None = None) -> list[dict[str, str]]:
    """The form checked against the matter's JSON Schema: one {field, message} per problem.
    ``schema_json``: the schema's ``canonical_json``, when the caller keeps it (it names the
    compiled checks; serialising the schema again cost more than checking a form)."""
    if not isinstance(form, dict):
        return [{"field": "form", "message": "应为对象"}]
    if len(canonical_json(form).encode()) > MAX_FORM_BYTES:
        return [{"field": "form", "message": "表单内容过大"}]
    schema_json = schema_json or canonical_json(schema or {})
    return [] if _passes(schema_json, form) else named_problems(schema_json, form)


def named_problems(schema_json: str, form: dict) -> list[dict[str, str]]:
    """What ``jsonschema`` finds wrong with the form, each problem named by its field."""
    problems = []
    for error in sorted(_validator(schema_json).iter_errors(form), key=lambda e: [str(p) for p in e.path]):
        path = [str(p) for p in error.path]
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            problems += [{"field": ".".join(["form", *path, name]), "message": "必填项"} for name in missing]
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            problems += [{"field": ".".join(["form", *path, name]), "message": "不支持的字段"}
                         for name in error.instance if name not in allowed]
            continue
        message = _MESSAGES.get(error.validator, "内容有误")
        problems.append({"field": ".".join(["form", *path]), "message": message})
    # jsonschema reports "required" once per missing name: each name once, in order
    return [dict(p) for p in dict.fromkeys(tuple(p.items()) for p in problems)]


def check_form(schema: dict, form: Any, *, schema_json: str | None = None) -> None:
    problems = form_problems(schema, form, schema_json=schema_json)
    if problems:
        raise FormInvalid("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)


@lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Draft202012Validator:
    return Draft202012Validator(json.loads(schema_json))


def _passes(schema_json: str, form: Any) -> bool:
    """Does the form surely pass? jsonschema-rs answers a valid form in ~0.3 µs where
    ``iter_errors`` takes ~20 (a twentieth of a submit's CPU under load, docs/benchmarks.md). Only a
    pass is taken from it: a form it refuses, or cannot judge, is judged again and named by
    ``jsonschema``, so the answer is always that one's."""
    check = _compiled(schema_json)
    try:
        return check is not None and check(form)
    except ValueError:  # not in JSON's shape (a key that is not text)
        return False


@lru_cache(maxsize=1024)
def _compiled(schema_json: str) -> Callable[[Any], bool] | None:
    """Formats are not asserted, as by ``jsonschema`` without a format checker. None when the
    schema does not compile here (a pattern its regex engine lacks, say)."""
    try:
        return jsonschema_rs.Draft202012Validator(json.loads(schema_json), validate_formats=False).is_valid
    except ValueError:  # jsonschema_rs.ValidationError is one
        return None


# --- idempotency ------------------------------------------------------------------------------


_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def canonical_json(value: Any) -> str:
    # one encoder kept, not one made per call by json.dumps (four a submit; the same text)
    return _CANONICAL.encode(value)


def fingerprint(value: Any) -> str:
    """Same request body (whatever its key order or spacing) -> same fingerprint."""
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()
