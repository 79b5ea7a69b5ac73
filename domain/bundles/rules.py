"""Pure decisions about bundles: what a declaration looks like, where each field comes from,
which steps run next, and what a step's application means for the bundle. What a declaration
must satisfy before it is published is ``declaration_rules``.

A declaration (docs/bundles.md has a whole one)::

    {"code": "newborn", "name": "新生儿出生一件事", "region_code": "330106000000", "deadline_days": 20,
     "form": {JSON Schema of the one form},
     "prefill": {"applicant_name": "identity.name", "credit_code": "license.business_license.credit_code"},
     "confirmation": {"parties": ["mother_id_number", "father_id_number"], "title": "另一方父母确认",
                      "before": ["birth_registration"],
                      "covers": ["child_name", "father_name", "household_address"]},
     "steps": [{"key": "birth_registration", "title": "...", "matter_code": "330106-BDL-0002",
                "after": ["birth_certificate"], "optional": false,
                "fields": {"<the matter's form field>": "<source>"},
                "produces": [{"license_type": "household_register", "wallet": "holder"}],
                "compensation": {"matter_code": "...", "fields": {...}}}]}

Sources of a step's field: ``form.<field>`` (the one form), ``step.<key>.reference`` (the
department's reference of an earlier step), ``step.<key>.number`` (its application number),
``step.<key>.license.<type>.<field>`` (a field of the license it produced), ``value.<text>``.
Sources of a pre-filled form field: ``identity.name``, ``identity.id_number`` (locked: the hub
fills them from the real-name record, whatever the client sends) and ``license.<type>.<field>``
(the newest valid license of that type in the applicant's wallet; the citizen may change it;
``license.<type>.license_id`` is that license's own id).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.applications.rules import form_problems

# --- step and run statuses --------------------------------------------------------------------

PENDING = "pending"  # waiting for its dependencies (or for the bundle to be retried)
WAITING_CONFIRMATION = "waiting_confirmation"  # ready, but the second party has not confirmed
IN_PROGRESS = "in_progress"  # its application is with the department
DONE = "done"
FAILED = "failed"
BLOCKED = "blocked"  # a step it depends on failed
SKIPPED = "skipped"  # an optional step the citizen did not ask for
COMPENSATED = "compensated"  # undone after another step failed (e.g. an appointment cancelled)

STEP_NAMES = {PENDING: "等待前序步骤", WAITING_CONFIRMATION: "等待另一方确认", IN_PROGRESS: "办理中",
              DONE: "已办结", FAILED: "未通过", BLOCKED: "因前序步骤未通过而暂停", SKIPPED: "未选择",
              COMPENSATED: "已撤销"}

RUNNING, FAILED_RUN, COMPLETED = "running", "failed", "completed"
RUN_NAMES = {RUNNING: "办理中", WAITING_CONFIRMATION: "等待另一方确认", FAILED_RUN: "有步骤未通过",
             COMPLETED: "全部办结"}
RUN_STATUSES = tuple(RUN_NAMES)
OPEN_RUN = (RUNNING, WAITING_CONFIRMATION)

RETRYABLE = (FAILED, BLOCKED, COMPENSATED)

IDENTITY_SOURCES = ("identity.name", "identity.id_number")


# --- the declaration --------------------------------------------------------------------------


@dataclass(frozen=True)
class StepDef:
    key: str
    title: str
    matter_code: str
    after: tuple[str, ...]
    optional: bool
    fields: Mapping[str, str]
    produces: tuple[Mapping[str, str], ...]
    compensation: Mapping[str, Any] | None


@dataclass(frozen=True)
class BundleDef:
    code: str
    name: str
    summary: str
    region_code: str
    deadline_days: int
    form: Mapping[str, Any]
    prefill: Mapping[str, str]
    confirmation: Mapping[str, Any] | None
    steps: tuple[StepDef, ...]

    def step(self, key: str) -> StepDef:
        return next(s for s in self.steps if s.key == key)

    @property
    def confirmation_before(self) -> frozenset[str]:
        return frozenset(self.confirmation.get("before", ())) if self.confirmation else frozenset()


def parse(raw: Mapping[str, Any]) -> BundleDef:
    """A declaration that passed ``structure_problems`` (anything else may raise)."""
    steps = tuple(StepDef(key=s["key"], title=s["title"], matter_code=s["matter_code"],
                          after=tuple(s.get("after", ())), optional=bool(s.get("optional", False)),
                          fields=dict(s.get("fields", {})), produces=tuple(s.get("produces", ())),
                          compensation=s.get("compensation")) for s in raw["steps"])
    return BundleDef(code=raw["code"], name=raw["name"], summary=raw.get("summary", ""),
                     region_code=raw["region_code"], deadline_days=int(raw.get("deadline_days", 30)),
                     form=raw["form"], prefill=dict(raw.get("prefill", {})),
                     confirmation=raw.get("confirmation"), steps=steps)


def problem(where: str, message: str) -> dict[str, str]:
    """One problem of a declaration or a form, as the admin and channel errors list it."""
    return {"field": where, "message": message}


def cycle(steps: Sequence[StepDef]) -> list[str] | None:
    """A dependency cycle as the keys along it (``[a, b, a]``), or None."""
    after = {s.key: [d for d in s.after if d != s.key] for s in steps}
    for s in steps:
        if s.key in s.after:
            return [s.key, s.key]
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(key: str) -> list[str] | None:
        state[key] = 1
        path.append(key)
        for dep in after.get(key, ()):
            if state.get(dep) == 1:
                return path[path.index(dep):] + [dep]
            if dep in after and state.get(dep) is None and (found := visit(dep)):
                return found
        path.pop()
        state[key] = 2
        return None

    for s in steps:
        if state.get(s.key) is None and (found := visit(s.key)):
            return found
    return None


def order(steps: Sequence[StepDef]) -> list[StepDef]:
    """Dependencies first, declaration order otherwise (the declaration has no cycle)."""
    placed: list[StepDef] = []
    done: set[str] = set()
    pending = list(steps)
    while pending:
        ready = [s for s in pending if set(s.after) <= done]
        for step in ready:
            placed.append(step)
            done.add(step.key)
        pending = [s for s in pending if s.key not in done]
        if not ready:  # a cycle: the caller validated, so this is a programming error
            raise ValueError("dependency cycle")
    return placed


def ancestors(steps: Sequence[StepDef], key: str) -> set[str]:
    by_key = {s.key: s for s in steps}
    found: set[str] = set()
    stack = list(by_key[key].after) if key in by_key else []
    while stack:
        dep = stack.pop()
        if dep not in found and dep in by_key:
            found.add(dep)
            stack.extend(by_key[dep].after)
    return found


# --- the one form -----------------------------------------------------------------------------


def locked_fields(bundle: BundleDef) -> dict[str, str]:
    """Form fields the hub fills from the real-name record, whatever the client sends."""
    return {name: source for name, source in bundle.prefill.items() if source in IDENTITY_SOURCES}


def license_prefill(bundle: BundleDef) -> dict[str, tuple[str, str]]:
    """Form field -> (license type, field) for fields suggested from the wallet."""
    found = {}
    for name, source in bundle.prefill.items():
        parts = source.split(".")
        if len(parts) == 3 and parts[0] == "license":
            found[name] = (parts[1], parts[2])
    return found


def form_errors(bundle: BundleDef, form: Any) -> list[dict[str, str]]:
    return form_problems(dict(bundle.form), form)


def confirmer_number(bundle: BundleDef, answers: Mapping[str, Any], applicant_id_number: str) -> str | None:
    """The ID number of the party who must confirm: the one of the declared parties who is not
    the applicant (either parent applies, the other confirms). Raises ValueError when the
    applicant is none of the parties."""
    if bundle.confirmation is None:
        return None
    numbers = [str(answers.get(name, "")).strip().upper() for name in bundle.confirmation["parties"]]
    mine = applicant_id_number.strip().upper()
    if mine not in numbers:
        raise ValueError("applicant is not a party")
    others = [n for n in numbers if n != mine]
    return others[0] if others else None


def optional_problems(bundle: BundleDef, chosen: Iterable[str]) -> list[dict[str, str]]:
    optional = {s.key for s in bundle.steps if s.optional}
    return [problem("optional_steps", f"{key} 不是可选步骤") for key in chosen if key not in optional]


# --- a step's application ---------------------------------------------------------------------


def resolve(source: str, form: Mapping[str, Any], outputs: Mapping[str, Mapping[str, Any]]) -> Any:
    """One source's value. ``outputs``: what finished steps gave, ``{step key: {"number",
    "reference", "licenses": {type: {"license_id", "number", "data": {field: value}}}}}``."""
    kind, _, rest = source.partition(".")
    if kind == "value":
        return rest
    if kind == "form":
        return form.get(rest)
    parts = rest.split(".")
    produced = outputs.get(parts[0], {})
    if len(parts) == 2:
        return produced.get(parts[1])
    return produced.get("licenses", {}).get(parts[2], {}).get("data", {}).get(parts[3])


def license_fields_read(bundle: BundleDef, key: str) -> dict[str, list[str]]:
    """License type -> the fields later steps read from step ``key``'s licenses (only these are
    kept in the step's outputs)."""
    found: dict[str, set[str]] = {}
    mappings = [s.fields for s in bundle.steps] + [s.compensation.get("fields", {}) for s in bundle.steps
                                                   if s.compensation]
    for mapping in mappings:
        for source in mapping.values():
            parts = source.split(".")
            if len(parts) == 5 and parts[0] == "step" and parts[1] == key and parts[2] == "license":
                found.setdefault(parts[3], set()).add(parts[4])
    return {kind: sorted(names) for kind, names in found.items()}


def step_form(mapping: Mapping[str, str], form: Mapping[str, Any],
              outputs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The matter's form for one step: each field from its source; absent values are left out
    (the matter's own validation then names what is missing)."""
    built = {}
    for name, source in mapping.items():
        value = resolve(source, form, outputs)
        if value is not None:
            built[name] = value
    return built


def application_outcome(status: str, transitions: Sequence[str]) -> str:
    """What an application means for its step: ``done`` (completed, approved), ``failed``
    (rejected, refused, withdrawn) or ``in_progress``."""
    if status in ("rejected", "withdrawn", "refused") or "refuse" in transitions:
        return FAILED
    if status == "completed":
        return DONE
    return IN_PROGRESS


def failure_advice(status: str, reason: str | None) -> dict[str, str]:
    """Which step failed, why, and what the citizen can do: shown as is."""
    why = reason or "办理部门未说明原因"
    if status == "rejected":
        return {"code": "rejected", "reason": f"部门不予受理：{why}",
                "advice": "请按部门说明修改“一件事”表单中的相关信息，然后重试该步骤。"}
    if status == "withdrawn":
        return {"code": "withdrawn", "reason": "该步骤的办件已撤回",
                "advice": "如需继续办理，请重试该步骤。"}
    return {"code": "refused", "reason": f"部门不予办理：{why}",
            "advice": "请按部门说明修改后重试该步骤；如有疑问，请联系办理部门。"}


def submit_failure(title: str, detail: str) -> dict[str, str]:
    return {"code": "not_submitted", "reason": f"{title}：{detail}",
            "advice": "请修改“一件事”表单中的相关信息后重试该步骤。"}


DECLINED = {"code": "confirmation_declined", "reason": "另一方父母未同意办理",
            "advice": "请与另一方沟通后重试；重试后将再次请其确认。"}


# --- what runs next ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StepState:
    key: str
    status: str
    after: tuple[str, ...]
    optional: bool
    needs_confirmation: bool
    compensable: bool


@dataclass(frozen=True)
class Plan:
    submit: tuple[str, ...]  # ready now: make their applications
    wait_confirmation: tuple[str, ...]
    block: tuple[str, ...]  # a step they wait for failed
    compensate: tuple[str, ...]  # undo these (the bundle failed)
    status: str


def plan(steps: Sequence[StepState], *, confirmation: str | None) -> Plan:
    """The next moves of a run, from its steps' states (in dependency order).

    A required step that failed (or a declined confirmation) fails the bundle: nothing new
    starts, steps already with a department finish, steps that declare a compensation are
    undone. An optional step that fails fails alone."""
    failed = any(s.status == FAILED and not s.optional for s in steps) or confirmation == "declined"
    submit, wait, block, compensate = [], [], [], []
    status_now = {s.key: s.status for s in steps}
    for step in steps:
        deps = [status_now[d] for d in step.after if d in status_now]
        if step.status in (PENDING, WAITING_CONFIRMATION):
            if any(d in (FAILED, BLOCKED, COMPENSATED) for d in deps):
                block.append(step.key)
                status_now[step.key] = BLOCKED
            elif all(d == DONE for d in deps) and not failed:
                if step.needs_confirmation and confirmation != "confirmed":
                    wait.append(step.key)
                    status_now[step.key] = WAITING_CONFIRMATION
                else:
                    submit.append(step.key)
                    status_now[step.key] = IN_PROGRESS
        if failed and step.compensable and status_now[step.key] in (DONE, IN_PROGRESS):
            compensate.append(step.key)
    required = [s for s in steps if not s.optional and s.status != SKIPPED]
    optional = [s for s in steps if s.optional and s.status != SKIPPED]
    if failed:
        status = FAILED_RUN
    elif all(status_now[s.key] == DONE for s in required) and all(
            status_now[s.key] in (DONE, FAILED, BLOCKED) for s in optional):
        status = COMPLETED
    elif any(status_now[s.key] == WAITING_CONFIRMATION for s in steps):
        status = WAITING_CONFIRMATION
    else:
        status = RUNNING
    return Plan(submit=tuple(submit), wait_confirmation=tuple(wait), block=tuple(block),
                compensate=tuple(compensate), status=status)


def retry_targets(statuses: Mapping[str, str]) -> list[str]:
    """A retry redoes only what did not succeed: never a step that is done or still running."""
    return [key for key, status in statuses.items() if status in RETRYABLE]
