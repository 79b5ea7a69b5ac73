"""Guardianship records (``license_guardians``), kept as licenses are issued (rules: guardianship.py).

- A birth medical certificate records its parents as the guardians of the child it names.
- A license whose holder is a minor links the child's ID number (its holder hash) to the
  guardians: those the license itself names, else those of the matching certificate.

Only keyed hashes are stored (the vault's lookup hash, as for holders): no names, no ID numbers.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any, Callable

from domain.licenses import guardianship as rules
from domain.licenses.catalog import LicenseType
from domain.licenses.errors import LicenseInvalid
from domain.licenses.models import License, LicenseGuardian

log = logging.getLogger("govhub.licenses")


async def record(row: License, kind: LicenseType, data: dict[str, Any], holder: str, now: datetime, *,
                 hash_of: Callable[[str], str], child_hash: Callable[[str], str]) -> None:
    """On the issuing transaction: keep who the new license names as guardians. ``hash_of`` hashes
    an ID number as holders are hashed; ``child_hash`` a child's name, birth date and sex."""
    if kind.code == rules.BIRTH_CERTIFICATE:
        try:
            until = rules.adult_at(date.fromisoformat(data["birth_date"]))
        except ValueError:
            raise LicenseInvalid("出生日期不是有效日期", errors=[{"field": "data.birth_date", "message": "日期无效"}]) from None
        child = child_hash(rules.certificate_child(data))
        for role, number in rules.certificate_parents(data):
            await LicenseGuardian.get_or_create(basis=row, guardian_hash=hash_of(number), defaults=dict(
                child_key=child, role=role, adult_at=until, created_at=now))
    elif kind.holder_kind == "person" and rules.is_minor(holder, now):
        await _link_minor(row, kind, data, holder, now, hash_of, child_hash)


async def _link_minor(row: License, kind: LicenseType, data: dict[str, Any], holder: str, now: datetime,
                      hash_of: Callable[[str], str], child_hash: Callable[[str], str]) -> None:
    minor, until = row.holder_hash, rules.adult_at(rules.birth_date_of(holder))
    name = holder_name(kind, data)
    child = child_hash(rules.license_child(name, holder)) if name else ""
    for role, number in rules.guardians_named(data, holder):
        await LicenseGuardian.get_or_create(basis=row, guardian_hash=hash_of(number), defaults=dict(
            child_key=child, role=role, minor_hash=minor, adult_at=until, created_at=now))
    if not name or await LicenseGuardian.exists(minor_hash=minor, basis__type_code=rules.BIRTH_CERTIFICATE):
        return  # nothing to match by, or the child's certificate is linked already
    rows = await LicenseGuardian.filter(child_key=child, minor_hash__isnull=True,
                                        basis__type_code=rules.BIRTH_CERTIFICATE, basis__status="valid")
    candidates: dict[int, frozenset[str]] = {}
    for guardian in rows:
        candidates[guardian.basis_id] = candidates.get(guardian.basis_id, frozenset()) | {guardian.guardian_hash}
    if rules.agreed_guardians(candidates) is None:
        if candidates:
            log.warning("guardians of license %s not linked: %d birth certificates disagree", row.public_id,
                        len(candidates))
        return
    await LicenseGuardian.filter(id__in=[g.id for g in rows]).update(minor_hash=minor)


async def minors_of(guardian_hash: str, now: datetime) -> set[str]:
    """Holder hashes of the minors this person is a guardian of now (by a basis still valid)."""
    now = now.astimezone(timezone.utc)  # SQLite compares stored UTC text: compare like with like
    rows = await LicenseGuardian.filter(guardian_hash=guardian_hash, minor_hash__isnull=False, adult_at__gt=now,
                                        basis__status="valid").values_list("minor_hash", flat=True)
    return set(rows) - {guardian_hash}


def holder_name(kind: LicenseType, data: dict[str, Any]) -> str | None:
    """The holder's name: the type's first field masked as a name (``name`` on a person's license)."""
    field = next((f for f, mask in kind.sensitive.items() if mask == "name"), None)
    value = data.get(field) if field else None
    return value if isinstance(value, str) and value.strip() else None
