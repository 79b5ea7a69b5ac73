"""Who is a minor, and who their guardians are (domain/licenses/guardianship.py)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from domain.licenses import guardianship as rules
from domain.shared.clock import SHANGHAI

BOY = "330106202611200016"  # born 2026-11-20, 17th digit odd: a boy
MOTHER, FATHER = "110105199003070017", "330106198805120023"


def test_a_child_is_a_minor_until_the_18th_birthday_at_midnight_beijing_time():
    coming_of_age = datetime(2044, 11, 20, tzinfo=SHANGHAI)
    assert rules.adult_at(date(2026, 11, 20)) == coming_of_age
    assert rules.adult_at(date(2026, 11, 20)).utcoffset() == timedelta(0)  # stored and compared as UTC
    assert rules.is_minor(BOY, coming_of_age - timedelta(seconds=1))
    assert not rules.is_minor(BOY, coming_of_age)
    # 2044-11-19 16:00 UTC is already midnight in Beijing
    assert not rules.is_minor(BOY, datetime(2044, 11, 19, 16, tzinfo=timezone.utc))
    assert not rules.is_minor(MOTHER, datetime(2026, 11, 28, tzinfo=timezone.utc))


def test_one_born_on_29_february_comes_of_age_on_1_march():
    assert rules.adult_at(date(2028, 2, 29)) == datetime(2046, 3, 1, tzinfo=SHANGHAI)


def test_the_certificate_and_the_childs_license_name_the_child_alike():
    certificate = {"child_name": "王小明 ", "birth_date": "2026-11-20", "sex": "男"}
    assert rules.certificate_child(certificate) == rules.license_child("王小明", BOY) == "王小明|2026-11-20|男"
    assert rules.license_child("王小明", "330106202611200024") != rules.certificate_child(certificate)  # a girl
    assert rules.sex_of(BOY) == "男"


def test_the_parents_on_a_certificate_the_father_optional():
    assert rules.certificate_parents({"mother_id_number": MOTHER, "father_id_number": FATHER}) == [
        ("mother", MOTHER), ("father", FATHER)]
    assert rules.certificate_parents({"mother_id_number": MOTHER}) == [("mother", MOTHER)]


def test_guardians_a_license_names_never_include_its_holder():
    data = {"guardian_id_number": MOTHER, "father_id_number": BOY, "id_number": BOY}
    assert rules.guardians_named(data, BOY) == [("guardian", MOTHER)]
    assert rules.guardians_named({"name": "王小明", "id_number": BOY}, BOY) == []


def test_matching_certificates_must_agree_on_the_parents():
    parents = frozenset({"m", "f"})
    assert rules.agreed_guardians({1: parents}) == parents
    assert rules.agreed_guardians({1: parents, 2: frozenset({"f", "m"})}) == parents  # a reissued certificate
    assert rules.agreed_guardians({1: parents, 2: frozenset({"x"})}) is None  # two children alike: nobody
    assert rules.agreed_guardians({}) is None
