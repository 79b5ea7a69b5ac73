"""What a confirmation binds, without a database: the covered facts and parties, the canonical
statement its digest is made over, what a retry changed, and what a declaration must cover."""
from __future__ import annotations

import copy
import json

import pytest

from domain.bundles import confirmation_rules, declaration_rules, rules
from domain.bundles.demo import definitions
from tests.support.bundles import NEWBORN_FORM

COVERED = ("child_name", "child_sex", "birth_date", "certificate_number", "mother_name", "father_name",
           "household_head", "household_address")


def newborn(**confirmation) -> rules.BundleDef:
    raw = copy.deepcopy(definitions()[0])
    assert raw["code"] == "newborn"
    if confirmation:
        raw["confirmation"] = {key: value for key, value in {**raw["confirmation"], **confirmation}.items()
                               if value is not None}
    return rules.parse(raw)


def statement(answers, number="B330106-20261127-0000AAAA", bundle=None) -> str:
    return confirmation_rules.statement(bundle or newborn(), answers, number=number)


def test_the_newborn_confirmation_covers_what_household_registration_sends():
    bundle = newborn()
    assert confirmation_rules.covered_facts(bundle) == COVERED
    assert confirmation_rules.parties(bundle) == ("mother_id_number", "father_id_number")
    sent = set(confirmation_rules.gated_form_fields(bundle))
    assert sent <= set(COVERED) | {"mother_id_number", "father_id_number"}


def test_the_statement_is_canonical_json_of_exactly_the_covered_fields_and_parties():
    shown = json.loads(statement(NEWBORN_FORM))
    assert set(shown) == {"run", "bundle", "parties", "facts"}
    assert tuple(shown["facts"]) == tuple(sorted(COVERED))  # sorted keys: one text for one content
    assert shown["parties"] == {"mother_id_number": NEWBORN_FORM["mother_id_number"],
                                "father_id_number": NEWBORN_FORM["father_id_number"]}
    reordered = dict(reversed(list(NEWBORN_FORM.items())))
    assert statement(reordered) == statement(NEWBORN_FORM)


@pytest.mark.parametrize("name", [*COVERED, "mother_id_number", "father_id_number"])
def test_changing_any_covered_fact_or_party_changes_the_statement(name):
    changed = {**NEWBORN_FORM, name: "310115199208150037" if name.endswith("id_number") else "另一个值"}
    assert statement(changed) != statement(NEWBORN_FORM)
    assert confirmation_rules.changed(newborn(), NEWBORN_FORM, changed) == [name]


@pytest.mark.parametrize("name", ["mailing_address", "phone", "birth_place", "bank_account"])
def test_what_the_confirmation_does_not_cover_leaves_it_alone(name):
    changed = {**NEWBORN_FORM, name: "13900000009" if name == "phone" else "另一个值"}
    assert statement(changed) == statement(NEWBORN_FORM)
    assert confirmation_rules.changed(newborn(), NEWBORN_FORM, changed) == []


def test_an_id_number_written_otherwise_is_the_same_party():
    father = "33010619880512002x"
    lower = {**NEWBORN_FORM, "father_id_number": father}
    upper = {**NEWBORN_FORM, "father_id_number": " " + father.upper() + " "}
    assert statement(lower) == statement(upper)
    assert confirmation_rules.changed(newborn(), lower, upper) == []


def test_the_statement_is_of_one_run():
    assert statement(NEWBORN_FORM, number="B1") != statement(NEWBORN_FORM, number="B2")


def test_a_declaration_from_before_covers_still_binds_what_the_gated_steps_send():
    legacy = newborn(covers=None, show=["child_name"])
    assert set(confirmation_rules.covered_facts(legacy)) == set(COVERED)
    moved = {**NEWBORN_FORM, "household_head": "李四"}
    assert statement(moved, bundle=legacy) != statement(NEWBORN_FORM, bundle=legacy)


def test_a_declaration_must_cover_every_form_field_its_gated_steps_send():
    form_fields = sorted(definitions()[0]["form"]["properties"])
    assert confirmation_rules.declaration_problems(newborn(), form_fields) == []
    short = newborn(covers=["child_name", "household_address", "nickname"])
    messages = [p["message"] for p in confirmation_rules.declaration_problems(short, form_fields)]
    assert messages[0] == "表单中没有字段 nickname"
    missing = sorted(m.split("表单字段 ")[1].split("（")[0] for m in messages[1:])
    assert missing == sorted(set(COVERED) - {"child_name", "household_address"})


def test_steps_that_sent_the_confirmed_facts():
    bundle = newborn()
    assert confirmation_rules.sent_steps(bundle, {"birth_registration": rules.FAILED}) == []
    assert confirmation_rules.sent_steps(bundle, {"birth_registration": rules.DONE}) == ["birth_registration"]
    assert confirmation_rules.sent_steps(bundle, {"birth_registration": rules.IN_PROGRESS}) == ["birth_registration"]


def test_covers_must_be_a_list_of_form_fields():
    raw = copy.deepcopy(definitions()[0])
    raw["confirmation"]["covers"] = "child_name"
    assert [p["field"] for p in declaration_rules.structure_problems(raw)] == ["confirmation"]
