"""Every license type of the catalog: its schema accepts its example and refuses broken data."""
from __future__ import annotations

import copy

import pytest

from domain.licenses import rules
from domain.licenses.catalog import license_types

TYPES = sorted(license_types())
ISSUER_KINDS = {"public_security", "civil_affairs", "health", "human_resources_social_security", "medical_security",
                "education", "natural_resources", "housing_fund", "exit_entry", "disabled_persons_federation",
                "veterans_affairs", "tax", "market_supervision"}


def test_the_catalog_has_the_national_types():
    assert len(TYPES) >= 30
    for must in ("resident_id_card", "household_register", "birth_medical_certificate", "marriage_certificate",
                 "business_license", "social_security_card", "medical_insurance_certificate", "driving_license",
                 "vehicle_license", "degree_certificate", "real_estate_certificate", "housing_fund_account"):
        assert must in TYPES
    kinds = {t.holder_kind for t in license_types().values()}
    assert kinds == {"person", "legal_person"}


@pytest.mark.parametrize("code", TYPES)
def test_each_type_is_complete_and_its_example_is_valid(code):
    kind = license_types()[code]
    assert kind.problems(kind.example) == []
    assert kind.issuer_kind in ISSUER_KINDS
    assert kind.validity["kind"] in ("permanent", "years", "field")
    if kind.validity["kind"] == "field":
        assert kind.validity["field"] in kind.fields
    assert kind.holder_field in kind.schema["required"] and kind.wallet_field in kind.schema["required"]
    assert set(kind.sensitive) <= set(kind.fields)


@pytest.mark.parametrize("code", TYPES)
def test_each_type_refuses_missing_wrong_and_unknown_fields(code):
    kind = license_types()[code]
    required = kind.schema["required"][0]
    missing = {k: v for k, v in kind.example.items() if k != required}
    assert any(p["field"] == "data" and "缺少" in p["message"] for p in kind.problems(missing))
    wrong = copy.deepcopy(kind.example)
    wrong[kind.holder_field] = 12345
    assert [p["field"] for p in kind.problems(wrong)] == [f"data.{kind.holder_field}"]
    extra = {**kind.example, "shoe_size": 42}
    assert kind.problems(extra) and kind.problems("not an object") == [{"field": "data", "message": "应为JSON对象"}]


def test_validity_rules():
    from datetime import datetime, timezone

    issued = datetime(2026, 2, 28, tzinfo=timezone.utc)
    assert rules.validity({"kind": "years", "years": 10}, {}, issued).year == 2036
    assert rules.validity({"kind": "permanent"}, {}, issued) is None
    assert rules.validity({"kind": "field", "field": "valid_until"}, {"valid_until": "长期"}, issued) is None
    assert rules.validity({"kind": "field", "field": "u"}, {"u": "2030-01-02"}, issued).isoformat().startswith("2030-01-02")
