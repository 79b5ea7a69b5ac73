"""Pure rules of applications: the state machine and late/early/repeated node events (with a
property test over random event sequences), routing, deadlines, numbers, forms, materials, uploads."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.applications import material_rules, rules, working_days
from domain.applications.errors import (
    FormInvalid,
    MaterialTooLarge,
    MaterialTypeNotAllowed,
    NoHandlingNode,
    TransitionNotAllowed,
)
from domain.applications.material_rules import GivenMaterial
from domain.applications.rules import NodeEventFacts, NodeFacts, Progress

T0 = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


def _at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


# --- the state machine ------------------------------------------------------------------------


def _walk(*names: str, start: str = rules.SUBMITTED) -> Progress:
    progress = Progress(start)
    for i, name in enumerate(names):
        progress = rules.advance(progress, name, at=_at(i))
    return progress


def test_the_happy_path_ends_completed():
    assert _walk("accept", "start_review", "approve", "complete").status == rules.COMPLETED
    assert _walk("accept", "refuse", "complete").status == rules.COMPLETED
    assert rules.advance(Progress(rules.DRAFT), "submit", at=T0).status == rules.SUBMITTED


def test_resubmission_returns_to_intake_or_review_depending_on_acceptance():
    before = _walk("request_correction", "resubmit")
    assert (before.status, before.accepted) == (rules.SUBMITTED, False)
    after = _walk("accept", "start_review", "request_correction", "resubmit")
    assert (after.status, after.accepted) == (rules.IN_REVIEW, True)
    assert after.resubmitted_at == _at(3)


@pytest.mark.parametrize(("status", "name"), [
    (rules.SUBMITTED, "approve"), (rules.APPROVED, "withdraw"), (rules.COMPLETED, "withdraw"),
    (rules.WITHDRAWN, "accept"), (rules.IN_REVIEW, "resubmit"), (rules.REJECTED, "accept"),
    (rules.SUBMITTED, "submit"),
])
def test_illegal_transitions_are_refused_with_a_clear_code(status, name):
    with pytest.raises(TransitionNotAllowed) as caught:
        rules.advance(Progress(status), name, at=T0)
    assert caught.value.code == "application_transition_not_allowed" and caught.value.kind == "conflict"
    assert caught.value.extra == {"current_status": status, "transition": name}
    assert rules.STATUS_NAMES[status] in caught.value.detail


def test_withdrawal_is_allowed_until_a_decision():
    for status in (rules.SUBMITTED, rules.ACCEPTED, rules.IN_REVIEW, rules.CORRECTION_REQUESTED):
        assert rules.may(Progress(status), "withdraw")
    for status in (rules.APPROVED, rules.REFUSED, rules.COMPLETED, rules.REJECTED, rules.WITHDRAWN):
        assert not rules.may(Progress(status), "withdraw")


def test_every_event_type_names_a_node_transition():
    assert set(rules.EVENT_TRANSITIONS.values()) <= set(rules.TRANSITIONS)
    assert all(rules.TRANSITIONS[n].actor == rules.NODE for n in rules.EVENT_TRANSITIONS.values())


def test_events_apply_wait_or_go_stale():
    submitted = Progress(rules.SUBMITTED)
    assert rules.classify_event(submitted, "accepted", T0) == rules.APPLY
    assert rules.classify_event(submitted, "approved", T0) == rules.WAIT  # its predecessors are on the way
    in_review = _walk("accept", "start_review")
    assert rules.classify_event(in_review, "accepted", T0) == rules.STALE  # backwards
    assert rules.classify_event(in_review, "review_started", T0) == rules.STALE  # a repeat
    assert rules.classify_event(Progress(rules.WITHDRAWN), "approved", T0) == rules.STALE


def test_an_event_of_the_round_before_a_resubmission_is_stale():
    progress = _walk("accept", "request_correction", "resubmit")  # resubmitted at _at(2), back in review
    assert rules.classify_event(progress, "correction_requested", _at(1)) == rules.STALE
    assert rules.classify_event(progress, "correction_requested", _at(5)) == rules.APPLY


def test_settle_applies_waiting_events_in_the_order_they_happened():
    waiting = [NodeEventFacts("c", "completed", _at(4)), NodeEventFacts("a", "approved", _at(3)),
               NodeEventFacts("r", "review_started", _at(2))]
    progress, decided = rules.settle(_walk("accept"), waiting)
    assert progress.status == rules.COMPLETED
    assert [(e.key, verdict) for e, verdict in decided] == [("r", rules.APPLY), ("a", rules.APPLY), ("c", rules.APPLY)]


def test_settle_leaves_events_that_still_wait():
    progress, decided = rules.settle(Progress(rules.SUBMITTED), [NodeEventFacts("c", "completed", _at(1))])
    assert progress.status == rules.SUBMITTED and decided == []


# A department's honest history: the events it would send, in the order they happened.
HISTORIES = [
    ["accepted", "review_started", "approved", "completed"],
    ["accepted", "approved", "completed"],
    ["accepted", "review_started", "refused", "completed"],
    ["rejected"],
    ["accepted", "review_started", "correction_requested", "@resubmit", "approved", "completed"],
    ["correction_requested", "@resubmit", "accepted", "review_started", "approved", "completed"],
]


@settings(max_examples=300, deadline=None)
@given(history=st.sampled_from(HISTORIES), data=st.data())
def test_random_delivery_orders_never_reach_an_illegal_state_or_go_backwards(history, data):
    """Events of a real history arrive shuffled, some twice, some never, and the citizen may
    withdraw at any moment: every applied step is a legal transition, node events never lower
    the rank, and nothing is applied after a terminal status."""
    timed = [(name, _at(i)) for i, name in enumerate(history)]
    node_events = [(n, t) for n, t in timed if not n.startswith("@")]
    delivered = data.draw(st.lists(st.sampled_from(node_events), max_size=2 * len(node_events))) if node_events else []
    withdraw_at = data.draw(st.one_of(st.none(), st.integers(0, len(delivered))))
    progress, waiting, applied = Progress(rules.SUBMITTED), [], []
    resubmissions = [t for n, t in timed if n == "@resubmit"]

    def step(name: str, at: datetime) -> None:
        nonlocal progress
        before = progress
        progress = rules.advance(progress, name, at=at)  # raises if the machine refused: never here
        assert progress.status in rules.STATUSES
        if rules.TRANSITIONS[name].actor == rules.NODE:
            assert rules.RANK[progress.status] > rules.RANK[before.status], (before, name)
        assert before.status not in rules.TERMINAL
        applied.append(name)

    for i, (event_type, occurred_at) in enumerate(delivered):
        if withdraw_at == i and rules.may(progress, "withdraw"):
            step("withdraw", _at(100))
        # the citizen corrects as soon as asked (the resubmission's time is in the history)
        if progress.status == rules.CORRECTION_REQUESTED and resubmissions:
            step("resubmit", resubmissions.pop(0))
        verdict = rules.classify_event(progress, event_type, occurred_at)
        if verdict == rules.APPLY:
            step(rules.EVENT_TRANSITIONS[event_type], occurred_at)
            progress_after, decided = rules.settle(progress, waiting)
            for fact, outcome in decided:
                waiting.remove(fact)
                if outcome == rules.APPLY:
                    step(rules.EVENT_TRANSITIONS[fact.type], fact.occurred_at)
            assert progress == progress_after
        elif verdict == rules.WAIT:
            waiting.append(NodeEventFacts(i, event_type, occurred_at))
    # a transition is applied at most as often as the history holds it (duplicates never apply twice)
    for name in set(applied):
        if name not in ("withdraw", "resubmit"):
            wanted = sum(1 for n, _ in node_events if rules.EVENT_TRANSITIONS[n] == name)
            assert applied.count(name) <= wanted


def test_when_every_event_arrives_in_any_order_the_history_completes():
    history = ["accepted", "review_started", "approved", "completed"]
    events = [NodeEventFacts(i, name, _at(i)) for i, name in enumerate(history)]
    for rotation in range(len(events)):
        order = events[rotation:] + events[:rotation]
        progress, waiting = Progress(rules.SUBMITTED), []
        for event in order:
            if rules.classify_event(progress, event.type, event.occurred_at) == rules.APPLY:
                progress = rules.advance(progress, rules.EVENT_TRANSITIONS[event.type], at=event.occurred_at)
                progress, decided = rules.settle(progress, waiting)
                waiting = [w for w in waiting if w not in {d for d, _ in decided}]
            else:
                waiting.append(event)
        assert progress.status == rules.COMPLETED, order


# --- routing ----------------------------------------------------------------------------------

NODES = [NodeFacts("330106-market_supervision", "department", "330106000000", "active"),
         NodeFacts("zj-platform", "province", "330000000000", "active"),
         NodeFacts("bj-platform", "province", "110000000000", "disabled")]


def test_a_department_node_handles_its_own_matters():
    assert rules.handling_node(department_code="330106-market_supervision", region_code="330106000000",
                               nodes=NODES) == "330106-market_supervision"


def test_otherwise_the_provincial_platform_of_the_matters_province():
    assert rules.handling_node(department_code="330100-housing_fund", region_code="330100000000",
                               nodes=NODES) == "zj-platform"


@pytest.mark.parametrize(("department", "region"), [("110000-housing_fund", "110000000000"),
                                                     ("000000-exit_entry", "000000000000")])
def test_no_node_or_a_disabled_one_is_a_clear_error(department, region):
    with pytest.raises(NoHandlingNode) as caught:
        rules.handling_node(department_code=department, region_code=region, nodes=NODES)
    assert caught.value.code == "no_handling_node"


# --- deadlines --------------------------------------------------------------------------------


def test_working_days_skip_the_national_day_holiday_and_count_make_up_workdays():
    # 2026: 10月1日-7日 off (Thu-Wed), 9月20日 (Sun) and 10月10日 (Sat) are make-up workdays
    assert working_days.add_working_days(date(2026, 9, 30), 1) == (date(2026, 10, 8), working_days.OFFICIAL)
    assert working_days.is_working_day(date(2026, 10, 10)) == (True, True)
    assert working_days.is_working_day(date(2026, 10, 3)) == (False, True)


def test_a_weekend_is_skipped_and_zero_days_means_the_same_day():
    assert working_days.add_working_days(date(2026, 11, 27), 1) == (date(2026, 11, 30), working_days.OFFICIAL)  # Fri -> Mon
    assert working_days.add_working_days(date(2026, 11, 27), 0) == (date(2026, 11, 27), working_days.OFFICIAL)


def test_a_year_without_an_official_calendar_falls_back_to_weekends_and_says_so():
    due, basis = working_days.add_working_days(date(2031, 3, 6), 1)  # Thursday
    assert (due, basis) == (date(2031, 3, 7), working_days.WEEKENDS_ONLY)
    assert working_days.add_working_days(date(2026, 12, 30), 5)[1] == working_days.WEEKENDS_ONLY  # runs into 2027


def test_working_days_between_and_overdue():
    assert working_days.working_days_between(date(2026, 11, 27), date(2026, 12, 1)) == 2
    assert working_days.working_days_between(date(2026, 12, 1), date(2026, 11, 27)) == 0
    assert rules.is_overdue(rules.IN_REVIEW, date(2026, 11, 26), date(2026, 11, 27))
    assert not rules.is_overdue(rules.IN_REVIEW, date(2026, 11, 27), date(2026, 11, 27))
    assert not rules.is_overdue(rules.CORRECTION_REQUESTED, date(2026, 11, 1), date(2026, 11, 27))


def test_numbers_are_region_day_and_sequence():
    assert rules.number_of("330106000000", date(2026, 11, 27), 123) == "330106-20261127-000123"


# --- forms, materials, uploads ----------------------------------------------------------------

SCHEMA = {"type": "object", "properties": {"amount_fen": {"type": "integer", "minimum": 1},
                                           "bank_account": {"type": "string", "pattern": "^[0-9]{12,19}$"}},
          "required": ["amount_fen", "bank_account"], "additionalProperties": False}


def test_form_problems_name_each_field():
    problems = rules.form_problems(SCHEMA, {"amount_fen": 0, "extra": 1})
    assert {"field": "form.bank_account", "message": "必填项"} in problems
    assert {"field": "form.amount_fen", "message": "数值过小"} in problems
    assert {"field": "form.extra", "message": "不支持的字段"} in problems
    assert rules.form_problems(SCHEMA, {"amount_fen": 5, "bank_account": "622202000000000001"}) == []
    with pytest.raises(FormInvalid) as caught:
        rules.check_form(SCHEMA, [])
    assert caught.value.extra["errors"] == [{"field": "form", "message": "应为对象"}]


def _seeded_schemas() -> list[dict]:
    """Every distinct form schema of the demo catalog and the housing fund, and this file's."""
    from domain.housing_fund.matters import FORM_SCHEMA

    lines = (Path(rules.__file__).parents[1] / "catalog" / "seed_data" / "matters.jsonl").read_text("utf-8")
    seen = {rules.canonical_json(json.loads(line)["form_schema"])
            for line in lines.splitlines() if line.strip()}
    seen |= {rules.canonical_json(FORM_SCHEMA), rules.canonical_json(SCHEMA)}
    return [json.loads(s) for s in sorted(seen)]


SCHEMAS = _seeded_schemas()
# Values near and far from what the schemas ask: digits of other scripts (\d), a line break before
# the end ($ in Python's re matches there), text, numbers, and the other shapes JSON has.
SCALARS = st.one_of(st.text(alphabet="0123456789X-长期\n٣３ a", max_size=20), st.text(max_size=8),
                    st.integers(-10, 10**19), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
                    st.none())
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=3),
                   st.dictionaries(st.text(max_size=3), SCALARS, max_size=2))


def _near(spec: dict):
    """Values of the kind a field asks for: mostly valid, sometimes just outside."""
    if "enum" in spec:
        return st.sampled_from(spec["enum"])
    if "pattern" in spec:
        return st.from_regex(spec["pattern"], fullmatch=True)
    kind = spec.get("type")
    if kind == "string":
        return st.text(max_size=spec.get("maxLength", 20) + 1)
    if kind in ("integer", "number"):
        low, high = spec.get("minimum", -10), spec.get("maximum", 10**12)
        return st.integers(low - 1, high + 1) if kind == "integer" else st.floats(low - 1, high + 1)
    if kind == "boolean":
        return st.booleans()
    return VALUES


@st.composite
def schema_and_form(draw):
    schema = draw(st.sampled_from(SCHEMAS))
    properties = schema.get("properties", {})
    names = set(schema.get("required", []))
    names |= set(draw(st.lists(st.sampled_from(sorted(properties) or ["extra"]))))
    if names and draw(st.integers(0, 5)) == 0:  # now and then one missing, or one too many
        names ^= {draw(st.sampled_from(sorted(names) + ["extra"]))}
    form = {}
    for name in sorted(names):
        near = _near(properties.get(name, {}))
        off = st.one_of(near.map(lambda v: f"{v}\n" if isinstance(v, str) else v), VALUES)
        form[name] = draw(near if draw(st.integers(0, 9)) else off)
    return schema, form


@settings(max_examples=500, deadline=None)
@given(schema_and_form())
def test_the_compiled_check_answers_as_jsonschema(case):
    """form_problems takes only a pass from jsonschema-rs (~0.3 µs against ~20 for jsonschema):
    whatever that says, the answer must be jsonschema's own, problem by problem."""
    schema, form = case
    assert rules.form_problems(schema, form) == rules.named_problems(rules.canonical_json(schema), form)


def test_where_the_two_engines_differ_jsonschema_decides():
    phone = {"type": "object", "properties": {"phone": {"type": "string", "pattern": "^1[3-9][0-9]{9}$"}}}
    assert not rules._passes(rules.canonical_json(phone), {"phone": "13800000001\n"})  # Rust's $ is the end
    assert rules.form_problems(phone, {"phone": "13800000001\n"}) == []  # Python's $ matches before a \n
    assert rules.form_problems(phone, {"phone": "2380000000"}) == [{"field": "form.phone", "message": "格式有误"}]
    assert rules.form_problems({"type": "object", "properties": {"a": {"pattern": "(?<=a"}}}, {"a": 1}) == []


REQUIRED = [{"name": "居民身份证", "license_type": "resident_id_card", "required": True},
            {"name": "购房合同", "license_type": None, "required": True},
            {"name": "其他", "license_type": None, "required": False}]


def test_materials_every_required_one_and_nothing_else():
    ok = [GivenMaterial("居民身份证", "license", "resident_id_card"), GivenMaterial("购房合同", "upload")]
    assert material_rules.material_problems(REQUIRED, ok) == []
    problems = material_rules.material_problems(REQUIRED, [GivenMaterial("户口本", "upload"),
                                                  GivenMaterial("购房合同", "license", "resident_id_card"),
                                                  GivenMaterial("居民身份证", "license", "driving_license")])
    messages = [p["message"] for p in problems]
    assert "该事项不需要此材料" in messages and "电子证照类型与该材料不符" in messages
    assert "该材料不能以电子证照提供，请上传文件" in messages
    assert "缺少必需材料：购房合同" in messages and "缺少必需材料：居民身份证" in messages


def test_a_material_reference_that_did_not_resolve_is_named():
    problems = material_rules.material_problems(REQUIRED, [GivenMaterial("购房合同", "upload", problem="未找到该上传文件")])
    assert {"field": "materials[0]", "message": "未找到该上传文件"} in problems


def test_uploads_are_judged_by_their_bytes_not_their_name():
    assert material_rules.check_upload(b"%PDF-1.7 ...", max_bytes=100) == "application/pdf"
    assert material_rules.check_upload(b"\x89PNG\r\n\x1a\n....", max_bytes=100) == "image/png"
    with pytest.raises(MaterialTypeNotAllowed):
        material_rules.check_upload(b"MZ\x90\x00 an exe named scan.pdf", max_bytes=100)
    with pytest.raises(MaterialTooLarge):
        material_rules.check_upload(b"\xff\xd8\xff" + b"0" * 200, max_bytes=100)
    assert material_rules.safe_filename("../../etc/passwd") == "passwd"
    assert material_rules.safe_filename("C:\\scans\\合同.pdf") == "合同.pdf"


def test_fingerprints_ignore_key_order():
    assert rules.fingerprint({"a": 1, "b": [1, 2]}) == rules.fingerprint({"b": [1, 2], "a": 1})
    assert rules.fingerprint({"a": 1}) != rules.fingerprint({"a": 2})
