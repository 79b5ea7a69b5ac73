"""Each capability owns its entry points (issue #12): which entry may submit which matter, what a
refusal names, and how the catalog reads and hashes a matter's ``entry``."""
from __future__ import annotations

import pytest

from domain.applications import rules
from domain.applications.errors import MatterEntryNotAllowed
from domain.catalog import rules as catalog_rules

RECORD = {"code": "330100-HF-LEAVE", "catalog_code": "HF-LEAVE", "name": "住房公积金离职提取",
          "kind": "administrative_payment", "region_code": "330100000000", "department_code": "330100-housing_fund"}


def test_the_catalog_and_the_guard_know_the_same_entries():
    assert set(catalog_rules.ENTRIES) == set(rules.ENTRIES) == set(rules.ENTRY_ROUTES) == set(rules.ENTRY_NAMES)
    assert catalog_rules.DEFAULT_ENTRY == rules.PLAIN


@pytest.mark.parametrize("matter_entry, entry, allowed", [
    ("application", "application", True),
    ("application", "bundle", True),  # a bundle submits a plain matter for the citizen, as they could
    ("application", "housing_fund", False),
    ("housing_fund", "housing_fund", True),
    ("housing_fund", "application", False),  # issue #12 item 1
    ("housing_fund", "bundle", False),
    ("bundle", "bundle", True),
    ("bundle", "application", False),
    ("bundle", "housing_fund", False),
])
def test_only_the_owner_enters_a_matter(matter_entry, entry, allowed):
    assert rules.may_enter(matter_entry, entry) is allowed


def test_a_refusal_names_the_entry_and_the_route_that_own_the_matter():
    with pytest.raises(MatterEntryNotAllowed) as refused:
        rules.check_entry(matter_code="340100-HF-LEAVE", matter_name="离职提取", matter_entry="housing_fund",
                          entry="application")
    assert refused.value.extra == {"matter_code": "340100-HF-LEAVE", "entry": "housing_fund",
                                   "route": "POST /housing-fund/withdrawals"}
    assert (refused.value.code, refused.value.kind) == ("matter_entry_not_allowed", "conflict")
    with pytest.raises(ValueError):  # a caller that does not say which entry it is: a bug, not a 4xx
        rules.check_entry(matter_code="x", matter_name="x", matter_entry="application", entry="admin")


def test_an_application_is_changed_only_through_the_entry_that_submitted_it():
    rules.check_change_entry(number="n", submitted_by="application", entry="application")
    for submitted_by in ("housing_fund", "bundle"):
        with pytest.raises(MatterEntryNotAllowed) as refused:
            rules.check_change_entry(number="n", submitted_by=submitted_by, entry="application")
        assert refused.value.extra["route"] == rules.ENTRY_ROUTES[submitted_by]


def test_the_catalog_reads_entry_with_the_plain_application_as_default():
    assert catalog_rules.normalize(RECORD)["entry"] == "application"
    assert catalog_rules.normalize({**RECORD, "entry": ""})["entry"] == "application"  # an empty CSV cell
    assert catalog_rules.normalize({**RECORD, "entry": "housing_fund"})["entry"] == "housing_fund"
    with pytest.raises(catalog_rules.RecordProblems) as bad:
        catalog_rules.normalize({**RECORD, "entry": "admin"})
    assert bad.value.problems == ["entry: one of application, housing_fund, bundle"]


def test_the_default_entry_keeps_a_stored_matters_hash_and_another_changes_it():
    plain = catalog_rules.normalize(RECORD)
    before_entry = {k: v for k, v in plain.items() if k not in ("entry", "content_hash")}
    assert plain["content_hash"] == catalog_rules.content_hash(before_entry)  # rows stored before 0016
    assert catalog_rules.normalize({**RECORD, "entry": "housing_fund"})["content_hash"] != plain["content_hash"]


def test_a_record_silent_on_its_entry_can_keep_the_stored_one():
    assert not catalog_rules.entry_given(RECORD) and not catalog_rules.entry_given({**RECORD, "entry": " "})
    assert catalog_rules.entry_given({**RECORD, "entry": "application"})
    kept = catalog_rules.with_entry(catalog_rules.normalize(RECORD), "housing_fund")
    assert kept == catalog_rules.normalize({**RECORD, "entry": "housing_fund"})
