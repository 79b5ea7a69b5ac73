"""Pure decisions of health codes: what a record and a rule must be, which rule version is in
force, the facts a region's making rules see, the colour they make, revocation hashes.
No I/O (docs/health-codes.md is the contract)."""
from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from json_logic.cert_logic import certLogic

from domain.health.hcert import COLOURS, HEALTH_CODE
from domain.seals.rules import utc_text

SEVERITY = {colour: rank for rank, colour in enumerate(COLOURS)}
RULE_TYPES = ("acceptance", "colour-mapping", "colour")
CHECKPOINT_TYPES = ("acceptance", "colour-mapping")  # distributed: these wait for the lead time
RECORD_KINDS = ("test", "vaccination", "travel")  # what regions push; citizens add "declaration"
TEST_RESULTS = ("positive", "negative")
TRIP_DAYS = 14
TEST_DAYS = 30
# The operators of CertLogic (the EU's JsonLogic subset); anything else is refused at publication
CERTLOGIC_OPERATORS = frozenset({"var", "if", "===", "and", "<", ">", "<=", ">=", "in", "+", "!", "before",
                                 "not-before", "after", "not-after", "plusTime", "reduce", "extractFromUVCI"})
MAX_LOGIC_DEPTH = 32
REGION = re.compile(r"[1-9]\d{5}")
IDENTIFIER = re.compile(r"[A-Z]{2}-\d{6}-\d{4}")


def province_of(region_code: str) -> str:
    """The province-level region (6 digits, ending 0000) of any division code."""
    return region_code[:2] + "0000"


def new_credential_id(region: str) -> str:
    return f"URN:HC:{region}:{uuid.uuid4().hex}"


def credential_hash(credential_id: str) -> str:
    """What a revocation batch lists: the first 128 bits of SHA-256 over the UTF-8 credential id, hex."""
    return hashlib.sha256(credential_id.encode()).digest()[:16].hex()


# --- rules --------------------------------------------------------------------------------------

def logic_problems(logic: Any, depth: int = 0) -> list[str]:
    """Why ``logic`` is not CertLogic (empty when it is): only the subset's operators, one operator
    per object, bounded depth. A rule the verifiers could not run must never be published."""
    if depth > MAX_LOGIC_DEPTH:
        return [f"nested deeper than {MAX_LOGIC_DEPTH}"]
    if isinstance(logic, list):
        return [p for item in logic for p in logic_problems(item, depth + 1)]
    if not isinstance(logic, dict):
        return []
    if len(logic) != 1:
        return ["an operation is an object with exactly one operator"]
    (operator, args), = logic.items()
    if operator not in CERTLOGIC_OPERATORS:
        return [f"operator {operator!r} is not CertLogic"]
    return logic_problems(args, depth + 1)


def rule_problems(*, identifier: str, region: str, rule_type: str, certificate_type: str,
                  valid_from: datetime, valid_until: datetime,
                  description: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Field-level problems of a rule version; the lead time is checked apart (``starts_too_soon``)."""
    problems: list[dict[str, str]] = []
    if not IDENTIFIER.fullmatch(identifier) or identifier[3:9] != region:
        problems.append({"field": "identifier", "message": f"形如 AR-{region}-0001，地区码为发布地区"})
    if rule_type not in RULE_TYPES:
        problems.append({"field": "type", "message": f"应为 {', '.join(RULE_TYPES)} 之一"})
    if certificate_type != HEALTH_CODE:
        problems.append({"field": "certificate_type", "message": f"目前只有 {HEALTH_CODE}"})
    if valid_until <= valid_from:
        problems.append({"field": "valid_until", "message": "应晚于 valid_from"})
    if not any(d.get("lang") == "zh" and d.get("desc") for d in description):
        problems.append({"field": "description", "message": "需要中文说明（lang=zh）"})
    return problems


def starts_too_soon(*, rule_type: str, valid_from: datetime, published_at: datetime, lead: timedelta) -> bool:
    """A checkpoint rule must be distributed before it applies (the EU gateway's 48-hour rule);
    a making rule applies at the hub and may start at once, never in the past."""
    if rule_type in CHECKPOINT_TYPES:
        return valid_from < published_at + lead
    return valid_from < published_at - timedelta(minutes=1)


@dataclass(frozen=True)
class RuleVersion:
    identifier: str
    version: int
    type: str
    logic: Any
    description: str  # the Chinese description
    valid_from: datetime
    valid_until: datetime
    active: bool = True


def in_force(versions: Iterable[RuleVersion], at: datetime) -> list[RuleVersion]:
    """Per identifier, the highest version valid at ``at``; in identifier order."""
    chosen: dict[str, RuleVersion] = {}
    for rule in versions:
        if rule.active and rule.valid_from <= at < rule.valid_until:
            held = chosen.get(rule.identifier)
            if held is None or rule.version > held.version:
                chosen[rule.identifier] = rule
    return [chosen[key] for key in sorted(chosen)]


def evaluate(logic: Any, data: dict[str, Any]) -> tuple[Any, str | None]:
    """CertLogic's answer, or (None, why) when the rule cannot be run on this data."""
    try:
        return certLogic(logic, data), None
    except Exception as error:
        return None, f"{type(error).__name__}: {error}"


# --- making a code ------------------------------------------------------------------------------

@dataclass(frozen=True)
class Record:
    """A pooled record as the making rules see it (opened from the seal)."""

    kind: str  # test | vaccination | travel | declaration
    region: str
    occurred_at: datetime
    content: dict[str, Any]


def facts(records: Sequence[Record], now: datetime) -> dict[str, Any]:
    """What a region's making rules are evaluated on (docs/health-codes.md)."""
    tests = [r for r in records if r.kind == "test" and now - timedelta(days=TEST_DAYS) <= r.occurred_at <= now]

    def latest(result: str) -> str | None:
        times = [r.occurred_at for r in tests if r.content.get("result") == result]
        return utc_text(max(times)) if times else None

    doses = max((int(r.content.get("dose", 0)) for r in records if r.kind == "vaccination"), default=0)
    since = now - timedelta(days=TRIP_DAYS)
    trips: set[str] = set()
    for record in records:
        if record.kind == "travel" and record.occurred_at >= since:
            trips.add(record.content["visited"])
        if record.kind == "declaration":
            for trip in record.content.get("trips", []):
                if date.fromisoformat(trip["left"] or trip["arrived"]) >= since.date():
                    trips.add(trip["region"])
    declarations = [r for r in records if r.kind == "declaration"]
    newest = max(declarations, key=lambda r: r.occurred_at, default=None)
    return {"positive_test_at": latest("positive"), "negative_test_at": latest("negative"),
            "vaccination_doses": doses, "trip_regions": sorted(trips),
            "symptoms": bool(newest and newest.content.get("symptoms")),
            "declared_at": utc_text(newest.occurred_at) if newest else None}


@dataclass(frozen=True)
class Colour:
    colour: str
    reasons: tuple[str, ...]
    rules: tuple[dict[str, Any], ...]  # what each rule gave, for the audit


def make_colour(rules: Sequence[RuleVersion], data: dict[str, Any]) -> Colour:
    """The most severe colour the making rules give (none: green); a rule that cannot run gives red —
    a code must never be greener than its rules allow."""
    colour, reasons, trail = "green", [], []
    for rule in rules:
        given, error = evaluate(rule.logic, data)
        if error or (given is not None and given not in COLOURS):
            given = "red"
            reason = f"{rule.description}（规则无法执行，按最严格处理）"
        else:
            reason = rule.description
        trail.append({"identifier": rule.identifier, "version": rule.version, "gave": given})
        if given is None or given == "green":
            continue
        if SEVERITY[given] > SEVERITY[colour]:
            colour, reasons = given, [reason]
        elif given == colour:
            reasons.append(reason)
    return Colour(colour=colour, reasons=tuple(reasons), rules=tuple(trail))


# --- keys ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class KeyState:
    kid: str
    region: str
    credential_types: tuple[str, ...]
    valid_from: datetime
    valid_until: datetime
    status: str


def may_sign(key: KeyState, *, region: str, credential_type: str, at: datetime) -> bool:
    """A key signs a code only for its own region and types, while it is valid (the code's life is
    then capped at the key's end: ``code_until``)."""
    return (key.status == "active" and key.region == region and credential_type in key.credential_types
            and key.valid_from <= at < key.valid_until)


def signing_key(keys: Iterable[KeyState], *, region: str, credential_type: str, at: datetime) -> KeyState | None:
    """The newest key that may sign (rotation: a new key takes over, old ones keep verifying)."""
    usable = [k for k in keys if may_sign(k, region=region, credential_type=credential_type, at=at)]
    return max(usable, key=lambda k: k.valid_from, default=None)


def code_until(key: KeyState, *, issued_at: datetime, lifetime: timedelta) -> datetime:
    """A code lives ``lifetime``, never past its key's end (a verifier would refuse it after)."""
    return min(issued_at + lifetime, key.valid_until)
