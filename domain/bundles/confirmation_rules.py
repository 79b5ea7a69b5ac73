"""What the second party's confirmation binds (pure): the facts and parties it covers, and the
statement its digest is made over. A confirmation given for one set of facts is no confirmation
of another: change any covered fact or party and it is void, and the (new) other party is asked.

The declaration says what a confirmation covers::

    "confirmation": {"parties": ["mother_id_number", "father_id_number"], "title": "另一方父母确认",
                     "before": ["birth_registration"],
                     "covers": ["child_name", "birth_date", "father_name", "household_address", …]}

``covers`` are the form fields the other party sees and confirms (``show`` is its older name and
is read the same way). A declaration is published only when ``covers`` names every form field the
steps in ``before`` send; for one published before that rule, the runner adds those fields
anyway, so nothing a gated step sends escapes the confirmation.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.applications.rules import canonical_json
from domain.bundles import rules

# Steps that sent what the confirmation covered: their submission stands, so the facts they sent
# cannot be changed by a retry any more (asking again would confirm nothing that is still to come).
SENT = (rules.IN_PROGRESS, rules.DONE)


def parties(bundle: rules.BundleDef) -> tuple[str, ...]:
    return tuple(bundle.confirmation["parties"]) if bundle.confirmation else ()


def declared(confirmation: Mapping[str, Any]) -> list[str]:
    """The covered fields the declaration names (``covers``, and ``show`` its older name)."""
    return list(dict.fromkeys([*confirmation.get("covers", []), *confirmation.get("show", [])]))


def gated_form_fields(bundle: rules.BundleDef) -> list[str]:
    """Form fields that the steps waiting for the confirmation send (or their undoing sends)."""
    found: dict[str, None] = {}
    keys = {s.key for s in bundle.steps}
    for key in sorted(bundle.confirmation_before & keys):
        step = bundle.step(key)
        mappings = [step.fields, step.compensation.get("fields", {}) if step.compensation else {}]
        for mapping in mappings:
            for source in mapping.values():
                kind, _, name = source.partition(".")
                if kind == "form":
                    found[name] = None
    return list(found)


def covered_facts(bundle: rules.BundleDef) -> tuple[str, ...]:
    """The form fields a confirmation binds besides the parties, in the order shown."""
    if bundle.confirmation is None:
        return ()
    named = declared(bundle.confirmation) + gated_form_fields(bundle)
    return tuple(name for name in dict.fromkeys(named) if name not in parties(bundle))


def party_number(value: Any) -> str:
    """An ID number as the confirmer is found by it (case and spaces do not make another person)."""
    return str(value if value is not None else "").strip().upper()


def statement(bundle: rules.BundleDef, answers: Mapping[str, Any], *, number: str) -> str:
    """Canonical JSON of exactly what a confirmation of run ``number`` covers: the parties' ID
    numbers and the covered facts. Its keyed digest is what a confirmation carries."""
    return canonical_json({
        "run": number, "bundle": bundle.code,
        "parties": {name: party_number(answers.get(name)) for name in parties(bundle)},
        "facts": {name: answers.get(name) for name in covered_facts(bundle)}})


def changed(bundle: rules.BundleDef, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The covered fields (parties first) whose answer differs between ``before`` and ``after``."""
    moved = [name for name in parties(bundle) if party_number(before.get(name)) != party_number(after.get(name))]
    return moved + [name for name in covered_facts(bundle) if before.get(name) != after.get(name)]


def sent_steps(bundle: rules.BundleDef, statuses: Mapping[str, str]) -> list[str]:
    """Steps waiting for the confirmation that have already been submitted with its facts."""
    return [key for key in sorted(bundle.confirmation_before) if statuses.get(key) in SENT]


def declaration_problems(bundle: rules.BundleDef, form_fields: Sequence[str]) -> list[dict[str, str]]:
    """A confirmation must name (in ``covers``) every form field the steps it gates send, and
    cover only fields of the form: what the other party confirms is what those steps send."""
    if bundle.confirmation is None:
        return []
    found = []
    named = set(declared(bundle.confirmation)) | set(parties(bundle))
    for name in declared(bundle.confirmation):
        if name not in form_fields:
            found.append(rules.problem("confirmation.covers", f"表单中没有字段 {name}"))
    for name in gated_form_fields(bundle):
        if name not in named:
            found.append(rules.problem("confirmation.covers",
                                       f"应包含等待确认的步骤提交的表单字段 {name}（确认须覆盖其提交的全部内容）"))
    return found
