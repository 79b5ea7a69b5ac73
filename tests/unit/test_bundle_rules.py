"""Bundle rules without a database: what keeps a declaration from publication (cycles, fields no
source covers, sources not available when a step runs), which steps run next, what an
application's end means for its step."""
from __future__ import annotations

import copy

import pytest

from domain.bundles import declaration_rules, rules
from domain.bundles.demo import definitions

SCHEMA = {"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}}, "required": ["a", "b"]}
MATTERS = {code: declaration_rules.MatterFacts(code=code, form_schema=SCHEMA) for code in ("M1", "M2", "M3")}
LICENSES = {"business_license": declaration_rules.LicenseFacts(fields=frozenset({"credit_code", "legal_representative_id_number"}),
                                                   sensitive=frozenset({"legal_representative_id_number"}))}


def bundle(**changes) -> dict:
    base = {"code": "demo", "name": "演示", "region_code": "330106000000",
            "form": {"type": "object", "properties": {"x": {"type": "string"}, "y": {"type": "string"}}},
            "steps": [
                {"key": "one", "title": "一", "matter_code": "M1", "fields": {"a": "form.x", "b": "form.y"}},
                {"key": "two", "title": "二", "matter_code": "M2", "after": ["one"],
                 "fields": {"a": "step.one.reference", "b": "value.固定"}},
                {"key": "three", "title": "三", "matter_code": "M3", "after": ["two"],
                 "fields": {"a": "step.one.number", "b": "form.x"}}]}
    return {**base, **changes}


def messages(raw) -> list[str]:
    return [p["message"] for p in declaration_rules.problems(raw, MATTERS, LICENSES)]


def test_a_sound_declaration_has_no_problems():
    assert declaration_rules.problems(bundle(), MATTERS, LICENSES) == []


def test_the_three_demo_bundles_have_a_sound_shape():
    for raw in definitions():
        assert declaration_rules.structure_problems(raw) == [], raw["code"]
        assert rules.cycle(rules.parse(raw).steps) is None


def test_a_cycle_is_named_step_by_step():
    raw = bundle()
    raw["steps"][0]["after"] = ["three"]
    assert messages(raw) == ["步骤依赖成环：one → three → two → one"]
    raw["steps"][0]["after"] = ["one"]
    assert any("成环" in m for m in messages(raw))


def test_every_required_field_needs_a_source():
    raw = bundle()
    del raw["steps"][1]["fields"]["b"]
    assert messages(raw) == ["事项 M2 的必填字段 b 没有来源"]


def test_sources_must_exist_when_the_step_runs():
    raw = bundle()
    raw["steps"][0]["fields"]["a"] = "step.two.reference"  # a later step's result
    raw["steps"][1]["fields"]["b"] = "form.nope"
    raw["steps"][2]["fields"]["b"] = "elsewhere.x"
    found = messages(raw)
    assert any("只能使用本步骤所依赖" in m for m in found)
    assert "表单中没有字段 nope" in found
    assert any(m.startswith("未知来源 elsewhere.x") for m in found)


def test_unknown_steps_matters_and_fields_of_the_matter():
    raw = bundle()
    raw["steps"][1]["after"] = ["ghost"]
    raw["steps"][2]["matter_code"] = "M9"
    raw["steps"][0]["fields"]["zzz"] = "form.x"
    found = messages(raw)
    assert "未知步骤 ghost" in found and "目录中没有在办事项 M9" in found
    assert "事项 M1 的表单没有字段 zzz" in found


def test_a_matter_that_needs_uploads_cannot_be_a_step():
    matters = {**MATTERS, "M1": declaration_rules.MatterFacts(code="M1", form_schema=SCHEMA, required_materials=("购房合同",))}
    assert any("购房合同" in p["message"] for p in declaration_rules.problems(bundle(), matters, LICENSES))


def test_a_matter_another_capability_owns_cannot_be_a_step():
    fund = declaration_rules.MatterFacts(code="M1", form_schema=SCHEMA, entry="housing_fund")
    found = declaration_rules.problems(bundle(), {**MATTERS, "M1": fund}, LICENSES)
    assert any(p["field"].endswith("matter_code") and "住房公积金提取" in p["message"] for p in found)
    bundle_only = declaration_rules.MatterFacts(code="M1", form_schema=SCHEMA, entry="bundle")
    assert declaration_rules.problems(bundle(), {**MATTERS, "M1": bundle_only}, LICENSES) == []


def test_prefill_from_a_sensitive_license_field_is_refused():
    raw = bundle(prefill={"x": "license.business_license.credit_code", "y": "license.business_license.legal_representative_id_number"})
    assert messages(raw) == ["legal_representative_id_number 是敏感字段，证照夹中为掩码，不能用于预填"]
    assert messages(bundle(prefill={"x": "identity.name", "y": "identity.phone"}))[0].startswith("来源应为")


def test_required_steps_cannot_wait_for_optional_ones():
    raw = bundle()
    raw["steps"][1]["optional"] = True
    assert messages(raw) == ["必办步骤不能依赖可选步骤 two"]


def test_shape_problems_come_first():
    assert [p["field"] for p in declaration_rules.structure_problems({"code": "X", "steps": []})] == [
        "code", "name", "region_code", "form", "steps"]
    duplicated = bundle()
    duplicated["steps"][1]["key"] = "one"
    assert declaration_rules.structure_problems(duplicated) == [{"field": "steps[1].key", "message": "步骤 one 重复"}]


def test_a_step_form_takes_each_field_from_its_source():
    outputs = {"one": {"reference": "R-1", "number": "N-1",
                       "licenses": {"business_license": {"data": {"credit_code": "91330106X"}}}}}
    mapping = {"a": "form.x", "b": "step.one.reference", "c": "step.one.license.business_license.credit_code",
               "d": "value.固定", "e": "form.missing"}
    assert rules.step_form(mapping, {"x": "甲"}, outputs) == {"a": "甲", "b": "R-1", "c": "91330106X", "d": "固定"}


def states(**statuses) -> list[rules.StepState]:
    graph = {"one": (), "two": ("one",), "three": ("two",), "side": ("one",), "extra": ("one",)}
    return [rules.StepState(key=k, status=statuses.get(k, rules.PENDING), after=graph[k], optional=k == "extra",
                            needs_confirmation=k == "two", compensable=k == "side") for k in graph]


def test_steps_start_when_their_dependencies_are_done_in_parallel():
    assert rules.plan(states(), confirmation=None).submit == ("one",)
    plan = rules.plan(states(one=rules.DONE), confirmation="confirmed")
    assert plan.submit == ("two", "side", "extra") and plan.status == rules.RUNNING


def test_the_confirmed_step_waits_for_the_second_party():
    plan = rules.plan(states(one=rules.DONE), confirmation=None)
    assert plan.submit == ("side", "extra") and plan.wait_confirmation == ("two",)
    assert plan.status == rules.WAITING_CONFIRMATION


def test_a_required_failure_blocks_dependants_stops_new_steps_and_compensates():
    plan = rules.plan(states(one=rules.DONE, two=rules.FAILED, side=rules.DONE), confirmation="confirmed")
    assert plan.block == ("three",) and plan.submit == ()  # not even the independent optional step
    assert plan.compensate == ("side",) and plan.status == rules.FAILED_RUN


def test_an_optional_failure_fails_alone():
    done = dict(one=rules.DONE, two=rules.DONE, three=rules.DONE, side=rules.DONE)
    plan = rules.plan(states(**done, extra=rules.FAILED), confirmation="confirmed")
    assert plan.status == rules.COMPLETED and plan.compensate == ()


def test_a_declined_confirmation_fails_the_bundle():
    assert rules.plan(states(one=rules.DONE), confirmation="declined").status == rules.FAILED_RUN


@pytest.mark.parametrize("status, transitions, outcome", [
    ("completed", ["submit", "accept", "start_review", "approve", "complete"], rules.DONE),
    ("completed", ["submit", "accept", "start_review", "refuse", "complete"], rules.FAILED),
    ("rejected", ["submit", "reject"], rules.FAILED),
    ("withdrawn", ["submit", "withdraw"], rules.FAILED),
    ("approved", ["submit", "accept", "start_review", "approve"], rules.IN_PROGRESS),
    ("correction_requested", ["submit", "request_correction"], rules.IN_PROGRESS),
])
def test_what_an_application_means_for_its_step(status, transitions, outcome):
    assert rules.application_outcome(status, transitions) == outcome


def test_a_retry_redoes_only_what_did_not_succeed():
    assert rules.retry_targets({"a": rules.DONE, "b": rules.FAILED, "c": rules.BLOCKED, "d": rules.COMPENSATED,
                                "e": rules.IN_PROGRESS, "f": rules.SKIPPED}) == ["b", "c", "d"]


def test_the_confirming_party_is_whoever_is_not_the_applicant():
    raw = copy.deepcopy(definitions()[0])
    newborn = rules.parse(raw)
    answers = {"mother_id_number": "110105199003070017", "father_id_number": "330106198805120023"}
    assert rules.confirmer_number(newborn, answers, "110105199003070017") == "330106198805120023"
    assert rules.confirmer_number(newborn, answers, "330106198805120023") == "110105199003070017"
    with pytest.raises(ValueError):
        rules.confirmer_number(newborn, answers, "310115199208150037")
