"""Pure decisions about bundles: what a declaration must satisfy before it is published, where
each field comes from, which steps run next, and what a step's application means for the bundle.

A declaration (docs/bundles.md has a whole one)::

    {"code": "newborn", "name": "新生儿出生一件事", "region_code": "330106000000", "deadline_days": 20,
     "form": {JSON Schema of the one form},
     "prefill": {"applicant_name": "identity.name", "credit_code": "license.business_license.credit_code"},
     "confirmation": {"parties": ["mother_id_number", "father_id_number"], "title": "另一方父母确认",
                      "before": ["birth_registration"], "show": ["child_name"]},
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

import re
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

CODE = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
IDENTITY_SOURCES = ("identity.name", "identity.id_number")
STEP_OUTPUTS = ("reference", "number")
MAX_STEPS = 20


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


@dataclass(frozen=True)
class MatterFacts:
    """What validation needs of a step's matter (from the catalog)."""

    code: str
    form_schema: Mapping[str, Any]
    required_materials: tuple[str, ...] = ()  # materials a submission must carry


@dataclass(frozen=True)
class LicenseFacts:
    """A license type: its fields, and the sensitive ones (a wallet shows them masked, so they
    cannot pre-fill a form)."""

    fields: frozenset[str]
    sensitive: frozenset[str]


def _problem(where: str, message: str) -> dict[str, str]:
    return {"field": where, "message": message}


def structure_problems(raw: Any) -> list[dict[str, str]]:
    """The declaration's shape: names, types, unique keys. Checked before anything else."""
    if not isinstance(raw, Mapping):
        return [_problem("", "应为对象")]
    problems = []
    if not isinstance(raw.get("code"), str) or not CODE.match(raw["code"]):
        problems.append(_problem("code", "小写字母开头，2到64个小写字母、数字、_ 或 -"))
    if not isinstance(raw.get("name"), str) or not 1 <= len(raw["name"].strip()) <= 200:
        problems.append(_problem("name", "应为1到200个字符"))
    if not isinstance(raw.get("region_code"), str) or not re.fullmatch(r"\d{12}", raw["region_code"]):
        problems.append(_problem("region_code", "应为12位区划代码"))
    deadline = raw.get("deadline_days", 30)
    if not isinstance(deadline, int) or isinstance(deadline, bool) or not 1 <= deadline <= 365:
        problems.append(_problem("deadline_days", "应为1到365的整数"))
    form = raw.get("form")
    if not isinstance(form, Mapping) or form.get("type") != "object" or not isinstance(form.get("properties"), Mapping):
        problems.append(_problem("form", "应为 JSON Schema 对象（type: object，含 properties）"))
    if not isinstance(raw.get("prefill", {}), Mapping):
        problems.append(_problem("prefill", "应为对象：表单字段 -> 来源"))
    confirmation = raw.get("confirmation")
    if confirmation is not None and not (isinstance(confirmation, Mapping) and _strings(confirmation.get("parties"))
                                         and len(confirmation["parties"]) >= 2
                                         and _strings(confirmation.get("before"))
                                         and _strings(confirmation.get("show", []))):
        problems.append(_problem("confirmation", "应含 parties（各方身份证号所在字段，至少两个）、before（步骤列表）"))
    steps = raw.get("steps")
    if not isinstance(steps, list) or not 1 <= len(steps) <= MAX_STEPS:
        return problems + [_problem("steps", f"应为1到{MAX_STEPS}个步骤")]
    seen: set[str] = set()
    for i, step in enumerate(steps):
        where = f"steps[{i}]"
        if not isinstance(step, Mapping):
            problems.append(_problem(where, "应为对象"))
            continue
        key = step.get("key")
        if not isinstance(key, str) or not KEY.match(key):
            problems.append(_problem(f"{where}.key", "小写字母开头，字母、数字或 _"))
        elif key in seen:
            problems.append(_problem(f"{where}.key", f"步骤 {key} 重复"))
        seen.add(key if isinstance(key, str) else "")
        for name in ("title", "matter_code"):
            if not isinstance(step.get(name), str) or not step[name].strip():
                problems.append(_problem(f"{where}.{name}", "必填"))
        if not _strings(step.get("after", [])):
            problems.append(_problem(f"{where}.after", "应为步骤编码列表"))
        if not isinstance(step.get("optional", False), bool):
            problems.append(_problem(f"{where}.optional", "应为 true 或 false"))
        fields = step.get("fields", {})
        if not isinstance(fields, Mapping) or not all(isinstance(v, str) for v in fields.values()):
            problems.append(_problem(f"{where}.fields", "应为对象：事项表单字段 -> 来源"))
        produces = step.get("produces", [])
        if not isinstance(produces, list) or not all(isinstance(p, Mapping) and isinstance(p.get("license_type"), str)
                                                     for p in produces):
            problems.append(_problem(f"{where}.produces", "应为 [{license_type, wallet}] 列表"))
        compensation = step.get("compensation")
        if compensation is not None and not (isinstance(compensation, Mapping)
                                             and isinstance(compensation.get("matter_code"), str)
                                             and isinstance(compensation.get("fields", {}), Mapping)):
            problems.append(_problem(f"{where}.compensation", "应含 matter_code 与 fields"))
    return problems


def _strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


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


def problems(raw: Any, matters: Mapping[str, MatterFacts | None],
             licenses: Mapping[str, LicenseFacts]) -> list[dict[str, str]]:
    """Everything that keeps a declaration from being published: its shape, unknown matters,
    unknown or cyclic dependencies, a matter's required field (or material) no source covers,
    a source that cannot be had when the step runs, optional steps that required ones wait for."""
    found = structure_problems(raw)
    if found:
        return found
    bundle = parse(raw)
    keys = {s.key for s in bundle.steps}
    form_fields = set(bundle.form.get("properties", {}))
    for i, step in enumerate(bundle.steps):
        for dep in step.after:
            if dep not in keys:
                found.append(_problem(f"steps[{i}].after", f"未知步骤 {dep}"))
            elif not step.optional and bundle.step(dep).optional:
                found.append(_problem(f"steps[{i}].after", f"必办步骤不能依赖可选步骤 {dep}"))
    if (loop := cycle(bundle.steps)) is not None:
        found.append(_problem("steps", "步骤依赖成环：" + " → ".join(loop)))
        return found
    for field_name, source in bundle.prefill.items():
        if field_name not in form_fields:
            found.append(_problem(f"prefill.{field_name}", "表单中没有该字段"))
        if (problem := _prefill_problem(source, licenses)) is not None:
            found.append(_problem(f"prefill.{field_name}", problem))
    for i, step in enumerate(bundle.steps):
        where = f"steps[{i}]"
        matter = matters.get(step.matter_code)
        if matter is None:
            found.append(_problem(f"{where}.matter_code", f"目录中没有在办事项 {step.matter_code}"))
        else:
            found += _coverage(where, step.fields, matter, bundle, step.key, form_fields, licenses)
        for j, output in enumerate(step.produces):
            if output["license_type"] not in licenses:
                found.append(_problem(f"{where}.produces[{j}]", f"未知证照类型 {output['license_type']}"))
        if step.compensation is not None:
            undo = matters.get(step.compensation["matter_code"])
            if undo is None:
                found.append(_problem(f"{where}.compensation.matter_code",
                                      f"目录中没有在办事项 {step.compensation['matter_code']}"))
            else:
                found += _coverage(f"{where}.compensation", step.compensation.get("fields", {}), undo, bundle,
                                   step.key, form_fields, licenses, own=True)
    if bundle.confirmation is not None:
        for name in [*bundle.confirmation["parties"], *bundle.confirmation.get("show", [])]:
            if name not in form_fields:
                found.append(_problem("confirmation", f"表单中没有字段 {name}"))
        for key in bundle.confirmation["before"]:
            if key not in keys:
                found.append(_problem("confirmation.before", f"未知步骤 {key}"))
    return found


# Besides its data fields, a wallet license prefills its own id: a later step can name the very
# license it ends (the business license a company's deregistration cancels).
LICENSE_ID = "license_id"


def _prefill_problem(source: str, licenses: Mapping[str, LicenseFacts]) -> str | None:
    if source in IDENTITY_SOURCES:
        return None
    parts = source.split(".")
    if len(parts) == 3 and parts[0] == "license":
        kind = licenses.get(parts[1])
        if kind is None:
            return f"未知证照类型 {parts[1]}"
        if parts[2] not in kind.fields and parts[2] != LICENSE_ID:
            return f"证照 {parts[1]} 没有字段 {parts[2]}"
        if parts[2] in kind.sensitive:
            return f"{parts[2]} 是敏感字段，证照夹中为掩码，不能用于预填"
        return None
    return "来源应为 identity.name、identity.id_number 或 license.<类型>.<字段>"


def _coverage(where: str, mapping: Mapping[str, str], matter: MatterFacts, bundle: BundleDef, key: str,
              form_fields: set[str], licenses: Mapping[str, LicenseFacts], own: bool = False) -> list[dict]:
    """Every required field of the matter's form has a source, and every source is available
    when the step runs (a step reads outputs of steps it waits for, never of others)."""
    found = []
    schema_fields = set(matter.form_schema.get("properties", {}))
    for name in matter.form_schema.get("required", ()):
        if name not in mapping:
            found.append(_problem(f"{where}.fields.{name}", f"事项 {matter.code} 的必填字段 {name} 没有来源"))
    for material in matter.required_materials:
        found.append(_problem(f"{where}.matter_code",
                              f"事项 {matter.code} 要求上传材料“{material}”，“一件事”步骤只能使用不需上传材料的事项"))
    available = ancestors(bundle.steps, key) | ({key} if own else set())
    for name, source in mapping.items():
        if name not in schema_fields:
            found.append(_problem(f"{where}.fields.{name}", f"事项 {matter.code} 的表单没有字段 {name}"))
        if (problem := _source_problem(source, form_fields, available, bundle, licenses)) is not None:
            found.append(_problem(f"{where}.fields.{name}", problem))
    return found


def _source_problem(source: str, form_fields: set[str], available: set[str], bundle: BundleDef,
                    licenses: Mapping[str, LicenseFacts]) -> str | None:
    kind, _, rest = source.partition(".")
    if kind == "value":
        return None
    if kind == "form":
        return None if rest in form_fields else f"表单中没有字段 {rest}"
    if kind == "step":
        parts = rest.split(".")
        if not parts[0] or parts[0] not in available:
            return f"{source}：只能使用本步骤所依赖（直接或间接）步骤的结果"
        if len(parts) == 2 and parts[1] in STEP_OUTPUTS:
            return None
        if len(parts) == 4 and parts[1] == "license":
            produced = {p["license_type"] for p in bundle.step(parts[0]).produces if p.get("wallet", "applicant") == "applicant"}
            if parts[2] not in produced:
                return f"步骤 {parts[0]} 不向申请人证照夹签发 {parts[2]}"
            kind_facts = licenses.get(parts[2])
            if kind_facts is None or parts[3] not in kind_facts.fields:
                return f"证照 {parts[2]} 没有字段 {parts[3]}"
            if parts[3] in kind_facts.sensitive:
                return f"{parts[3]} 是敏感字段，不能从证照夹读取"
            return None
        return f"{source}：应为 step.<步骤>.reference|number|license.<类型>.<字段>"
    return f"未知来源 {source}（form. / step. / value.）"


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
    return [_problem("optional_steps", f"{key} 不是可选步骤") for key in chosen if key not in optional]


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
