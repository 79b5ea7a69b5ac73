"""A checkpoint region's rules, as the health verifier runs them (docs/health-codes.md, "Rule
entries"): which version of each rule is in force at a moment, and what the rules make of a code —
colour-mapping rules in identifier order (the first giving a colour sets the effective colour),
every acceptance rule true. A rule that raises, or gives a non-boolean (acceptance) or anything but
a colour or null (mapping), fails: never passes. CertLogic through panzi-json-logic, whose
interpreter every held rule replaces by its compiled form, made when the rule is loaded (``prepare``,
verifier/certlogic.py: the same outcome, held equal by tests/unit/test_certlogic.py; ~4× faster,
bench/health_bench.py)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NamedTuple

from verifier import hcert
from verifier.certlogic import Compiled, compile_logic
from verifier.offline import parse_time

ACCEPTANCE, MAPPING = "acceptance", "colour-mapping"


class Prepared(NamedTuple):
    """What a rule's checks need, made once when the rule is loaded."""

    logic: Compiled
    description: str
    engine_problem: str | None


def prepare(rule: dict[str, Any]) -> Prepared:
    """A rule entry (identifier, type, logic checked) made ready; never raises: a description it
    cannot read is no description (``describe``)."""
    return Prepared(compile_logic(rule["logic"]), describe(rule), _engine_problem(rule))


def in_force(held: Iterable[tuple[tuple[str, int], dict[str, Any]]], at: datetime,
             certificate_type: str) -> list[dict[str, Any]]:
    """Of one region's rules held, one version per identifier (the highest valid at ``at``), checkpoint
    types only, in identifier order."""
    best: dict[str, dict[str, Any]] = {}
    for (identifier, version), rule in held:
        if rule.get("certificate_type") != certificate_type or rule.get("status") != "active" \
                or not parse_time(rule["valid_from"]) <= at < parse_time(rule["valid_until"]):
            continue
        if identifier not in best or version > best[identifier]["version"]:
            best[identifier] = rule
    return [best[each] for each in sorted(best) if best[each]["type"] in (ACCEPTANCE, MAPPING)]


def steady_span(held: Iterable[tuple[tuple[str, int], dict[str, Any]]], at: datetime) -> tuple[datetime, datetime]:
    """[start, end) around ``at`` in which no rule held starts or ends: ``in_force`` gives there what
    it gives at ``at``."""
    start, end = datetime.min.replace(tzinfo=at.tzinfo), datetime.max.replace(tzinfo=at.tzinfo)
    for _key, rule in held:
        for bound in (parse_time(rule["valid_from"]), parse_time(rule["valid_until"])):
            if bound <= at:
                start = max(start, bound)
            else:
                end = min(end, bound)
    return start, end


def apply(rules: list[dict[str, Any]], content: dict[str, Any], *, issuer: str | None, region: str,
          at: str, prepared: Mapping[tuple[str, int], Prepared],
          ) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
    """(effective colour, every rule's outcome, the failed ones) for the pass ``content``; each rule
    runs as ``prepared`` holds it (by identifier and version)."""
    data = {"payload": content, "external": {"validationClock": at, "checkpointRegion": region,
                                              "issuerRegion": issuer}}
    outcomes, failed, colour = [], [], None
    for rule in rules:
        if rule["type"] == MAPPING and colour is not None:
            continue  # the first mapping giving a colour decides
        outcome = evaluate(rule, data, prepared[(rule["identifier"], rule["version"])])
        outcomes.append(outcome)
        if "error" in outcome:
            failed.append(outcome)
        elif rule["type"] == MAPPING:
            colour = outcome["colour"]
        elif not outcome["passed"]:
            failed.append(outcome)
    return colour or content["col"], outcomes, failed


def describe(rule: dict[str, Any]) -> str:
    """The rule's Chinese and English descriptions, else its identifier. A description that is not a
    list counts as none, and an entry whose ``lang`` is not text is skipped: never an exception."""
    description = rule.get("description")
    entries = description if isinstance(description, list) else []
    words = {each["lang"]: each.get("desc") for each in entries
             if isinstance(each, dict) and isinstance(each.get("lang"), str)}
    return " / ".join(str(words[lang]) for lang in ("zh", "en") if words.get(lang)) or rule["identifier"]


def _engine_problem(rule: dict[str, Any]) -> str | None:
    if rule.get("engine", "CertLogic") != "CertLogic" or not str(rule.get("engine_version", "1")).startswith("1"):
        return f"engine {rule.get('engine')} {rule.get('engine_version')} is not CertLogic 1.x"
    return None


def evaluate(rule: dict[str, Any], data: dict[str, Any], prepared: Prepared) -> dict[str, Any]:
    """One rule's outcome: ``passed`` (acceptance) or ``colour`` (mapping), or ``error`` (it failed);
    run as ``prepared`` (``prepare(rule)``, made when the rule was loaded)."""
    # one dict, filled in (merging a copy for each outcome was a tenth of a rule's cost)
    outcome = {"identifier": rule["identifier"], "version": rule["version"], "type": rule["type"],
               "description": prepared.description}
    if prepared.engine_problem:
        return _failed(outcome, prepared.engine_problem)
    try:
        value = prepared.logic(data)  # CertLogic reads, never writes, its inputs
    except Exception as exc:
        return _failed(outcome, f"the rule could not be evaluated ({exc.__class__.__name__}: {exc})")
    if rule["type"] == ACCEPTANCE:
        if isinstance(value, bool):
            outcome["passed"] = value
            return outcome
        return _failed(outcome, f"the rule gave {value!r}, not true or false")
    if value is None or value in hcert.COLOURS:
        outcome["colour"] = value
        return outcome
    outcome["colour"] = None
    outcome["error"] = f"the rule gave {value!r}, not a colour or null"
    return outcome


def _failed(outcome: dict[str, Any], error: str) -> dict[str, Any]:
    outcome["passed"], outcome["error"] = False, error
    return outcome
