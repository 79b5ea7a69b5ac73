"""What a bundle declaration must satisfy before it is published (pure): its shape, its matters
and license types, its dependencies, that every field a step's matter requires has a source
available when the step runs, and that a confirmation covers everything the steps it gates send
(``confirmation_rules``). The declaration's format is described in ``rules``.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.applications import rules as application_rules
from domain.bundles import confirmation_rules
from domain.bundles.rules import IDENTITY_SOURCES, BundleDef, ancestors, cycle, parse
from domain.bundles.rules import problem as _problem

CODE = re.compile(r"^[a-z][a-z0-9_-]{1,63}$")
KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
STEP_OUTPUTS = ("reference", "number")
MAX_STEPS = 20


@dataclass(frozen=True)
class MatterFacts:
    """What validation needs of a step's matter (from the catalog)."""

    code: str
    form_schema: Mapping[str, Any]
    required_materials: tuple[str, ...] = ()  # materials a submission must carry
    entry: str = application_rules.PLAIN  # the capability that submits it (applications.rules.ENTRIES)


@dataclass(frozen=True)
class LicenseFacts:
    """A license type: its fields, and the sensitive ones (a wallet shows them masked, so they
    cannot pre-fill a form)."""

    fields: frozenset[str]
    sensitive: frozenset[str]


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
                                         and _strings(confirmation.get("covers", []))
                                         and _strings(confirmation.get("show", []))):
        problems.append(_problem("confirmation", "应含 parties（各方身份证号所在字段，至少两个）、before（步骤列表）、"
                                                 "covers（确认覆盖的表单字段列表）"))
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
        for name in bundle.confirmation["parties"]:
            if name not in form_fields:
                found.append(_problem("confirmation", f"表单中没有字段 {name}"))
        for key in bundle.confirmation["before"]:
            if key not in keys:
                found.append(_problem("confirmation.before", f"未知步骤 {key}"))
        found += confirmation_rules.declaration_problems(bundle, sorted(form_fields))
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
    if not application_rules.may_enter(matter.entry, application_rules.BUNDLE):  # a fund withdrawal, …
        found.append(_problem(f"{where}.matter_code", f"事项 {matter.code} 只能通过"
                              f"{application_rules.ENTRY_NAMES.get(matter.entry, matter.entry)}入口办理，不能作为“一件事”步骤"))
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
