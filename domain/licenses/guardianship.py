"""Pure rules of guardianship: whose wallet also shows a minor's licenses (监护人查看).

Guardians come from an authoritative license, never from what a citizen types:

1. a license of the minor's own that names guardians or parents in its data (``guardian_id_number``,
   ``mother_id_number``, ``father_id_number``) — no catalog type does so today;
2. otherwise the parents on the child's birth medical certificate (出生医学证明, issued by the health
   department). The certificate is issued before the child has an ID number, so it cannot carry
   it; the child's later licenses (household-register entry, social security card, …) carry the
   ID number, which itself encodes the birth date and sex. The link is the child as both name
   them: name, birth date and sex (``child_text``). When several unlinked certificates match, they
   must agree on the parents (a reissued certificate), else nobody is linked (fail closed).

A holder is a minor until their 18th birthday (民法典 art. 17), from the ID number's birth date,
at 00:00 Beijing time by the hub's clock; one born on 29 February comes of age on 1 March.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from domain.shared.clock import beijing_day_start
from domain.shared.values import IdNumber

ADULT_AGE = 18
BIRTH_CERTIFICATE = "birth_medical_certificate"
PARENT_FIELDS = (("mother", "mother_id_number"), ("father", "father_id_number"))
GUARDIAN_FIELDS = (("guardian", "guardian_id_number"), *PARENT_FIELDS)


def birth_date_of(id_number: str) -> date:
    return IdNumber.parse(id_number).birth_date


def sex_of(id_number: str) -> str:
    """GB 11643: the 17th digit is odd for men, even for women."""
    return "男" if int(id_number[16]) % 2 else "女"


def adult_at(birth: date) -> datetime:
    """The moment one born on ``birth`` comes of age: the 18th birthday at 00:00 Beijing time."""
    try:
        day = birth.replace(year=birth.year + ADULT_AGE)
    except ValueError:  # born on 29 February, the year of age has none
        day = date(birth.year + ADULT_AGE, 3, 1)
    return beijing_day_start(day)


def is_minor(id_number: str, now: datetime) -> bool:
    return now < adult_at(birth_date_of(id_number))


def child_text(name: str, birth: date | str, sex: str) -> str:
    """The child as a certificate and a later license both name them (hashed before storing)."""
    born = birth.isoformat() if isinstance(birth, date) else birth
    return f"{name.strip()}|{born}|{sex}"


def certificate_child(data: dict[str, Any]) -> str:
    return child_text(data["child_name"], data["birth_date"], data["sex"])


def license_child(name: str, holder_id: str) -> str:
    return child_text(name, birth_date_of(holder_id), sex_of(holder_id))


def certificate_parents(data: dict[str, Any]) -> list[tuple[str, str]]:
    """(role, ID number) of the parents a birth medical certificate names (the father is optional)."""
    return [(role, data[field]) for role, field in PARENT_FIELDS if data.get(field)]


def guardians_named(data: dict[str, Any], holder_id: str) -> list[tuple[str, str]]:
    """(role, ID number) of guardians a minor's own license names, never the holder themself."""
    return [(role, data[field]) for role, field in GUARDIAN_FIELDS
            if isinstance(data.get(field), str) and data[field] != holder_id]


def agreed_guardians(candidates: dict[Any, frozenset[str]]) -> frozenset[str] | None:
    """The guardians when every matching certificate names the same ones; None when there is no
    match or the matches disagree (two children alike in name, birth date and sex)."""
    named = set(candidates.values())
    return named.pop() if len(named) == 1 else None
