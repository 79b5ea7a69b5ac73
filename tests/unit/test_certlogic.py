"""The compiled CertLogic (verifier/certlogic.py) against panzi-json-logic's interpreter, the
reference: over generated rules and data, the same value of the same type, or the same exception
with the same message."""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from json_logic.cert_logic import certLogic

from domain.health import demo
from verifier.certlogic import compile_logic, parse_time

OPERATIONS = ["var", "if", "and", "or", "!", "===", "<", "<=", ">", ">=", "in", "+", "plusTime", "after",
              "before", "not-before", "not-after", "reduce", "extractFromUVCI", "unknown", "var.x", "==", "!!"]
PATHS = ["payload.col", "payload.lt", "payload.tests", "payload.tests.0", "payload.tests.length", "payload.nam.1",
         "payload.tests.01", "payload.tests.-1", "external.validationClock", "external.issuerRegion", "current",
         "accumulator", "current.d", "data.payload.col", "", "missing.deep", "payload", "external"]
TIMES = ["2026-12-06T10:00:00Z", "2026-12-04T09:59:59Z", "2026-02-30T00:00:00Z", "2026-12-06", "2026-12-06T10:00:00+08:00",
         "2026-12-06T10:00:00.5Z", "2026-12-06T10:00:00", "2026-12-06T10:00:00Z\n", "yesterday", "9999-12-31T23:59:59Z",
         "２０２６-12-06T10:00:00Z"]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-3, 50), st.floats(allow_nan=True, width=32),
                    st.sampled_from(["green", "yellow", "red", "110000", "330000", "", "0", "day", "hour", "month",
                                     "year", "URN:UVCI:01:CN:ABC#1", *TIMES]))
leaves = st.one_of(scalars, st.sampled_from(PATHS).map(lambda path: {"var": path}),
                   st.tuples(st.sampled_from(PATHS), scalars).map(lambda pair: {"var": list(pair)}))


def _nodes(children):
    ops = st.sampled_from(OPERATIONS)
    return st.one_of(
        st.builds(lambda op, args: {op: args}, ops, st.lists(children, max_size=4)),
        st.builds(lambda op, arg: {op: arg}, ops, children),  # a lone argument, not a list
        st.builds(lambda unit, amount, path: {"plusTime": [{"var": path}, amount, unit]},
                  st.sampled_from(["day", "hour", "month", "year", "week", None]),
                  st.one_of(st.integers(-100, 100), st.floats(allow_nan=True, width=32), st.sampled_from(["2", "x"])),
                  st.sampled_from(PATHS)),
        st.lists(children, max_size=3),
        st.dictionaries(st.sampled_from(["a", "b"]), children, min_size=2, max_size=2),  # not an operation
    )


logic = st.recursive(leaves, _nodes, max_leaves=25)
values = st.one_of(scalars, st.lists(scalars, max_size=3))
data = st.fixed_dictionaries({
    "payload": st.fixed_dictionaries({"col": values, "lt": st.one_of(st.sampled_from(TIMES), values),
                                      "nam": st.one_of(st.text(max_size=3), values),
                                      "tests": st.lists(st.fixed_dictionaries({"d": st.sampled_from(TIMES)}),
                                                        max_size=3)}),
    "external": st.fixed_dictionaries({"validationClock": st.sampled_from(TIMES),
                                       "issuerRegion": st.sampled_from(["110000", "330000", None])}),
})


def outcome(run):
    try:
        value = run()
    except Exception as exc:  # noqa: BLE001 - the exception itself is what is compared
        return "raised", type(exc), str(exc)
    return "value", type(value), _comparable(value)


def _comparable(value):
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, list):
        return [(type(item), _comparable(item)) for item in value]
    if isinstance(value, datetime):
        return repr(value)  # the instant and its zone
    return value


@settings(max_examples=1500, deadline=None)
@given(logic, data)
def test_a_compiled_rule_gives_what_the_interpreter_gives(rule, facts):
    assert outcome(lambda: compile_logic(rule)(facts)) == outcome(lambda: certLogic(rule, facts))


@given(data)
def test_the_hubs_own_rules_compile_to_the_same_outcome(facts):
    for rule in (demo.RECENT_TEST, demo.ZJ_YELLOW_IS_RED):
        assert outcome(lambda r=rule: compile_logic(r)(facts)) == outcome(lambda r=rule: certLogic(r, facts))


def test_a_recent_test_rule_decides_on_the_time_it_reads():
    clock = datetime(2026, 12, 6, 10, tzinfo=UTC)
    rule = compile_logic(demo.RECENT_TEST)
    facts = {"external": {"validationClock": "2026-12-06T10:00:00Z", "issuerRegion": "330000"}}
    for hours, passed in ((47, True), (48, True), (49, False)):
        lt = (clock - timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert rule({**facts, "payload": {"lt": lt}}) is passed
    assert rule({**facts, "payload": {}}) is False


@given(st.sampled_from(TIMES) | st.text(max_size=25) | st.datetimes(timezones=st.just(UTC)))
def test_times_are_read_as_the_library_reads_them(text):
    from json_logic.cert_logic.builtins import parse_time as reference

    assert outcome(lambda: parse_time(text)) == outcome(lambda: reference(text))

