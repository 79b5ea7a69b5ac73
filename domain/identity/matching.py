"""Identity verification for departments (身份核验): does this name go with this ID number, as the
hub knows the citizen, and did they just pass a face scan? The answer is match / no_match /
unknown, never the person's data: a department learns only what it already claimed."""
from __future__ import annotations

import hmac
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.identity import people
from domain.identity.models import FaceSession, Person
from domain.identity.people import ID_NUMBER, NAME
from domain.shared.values import IdNumber
from domain.shared.vault import Vault

MATCH, NO_MATCH, UNKNOWN = "match", "no_match", "unknown"
# A face scan vouches for a department's check only if it was read this recently.
FACE_FRESH = timedelta(minutes=10)


@dataclass(frozen=True)
class IdentityMatch:
    result: str  # match | no_match | unknown
    face_checked: bool


async def person_of(vault: Vault, number: IdNumber) -> Person | None:
    """The real-name-verified person with this ID number (following merges), if any."""
    person = await Person.get_or_none(id_number_hash=vault.lookup_hash(number.value, context=ID_NUMBER))
    return None if person is None else await people.survivor(person)


async def check(vault: Vault, *, name: str, number: IdNumber, face_session: str | None,
                now: datetime) -> IdentityMatch:
    person = await person_of(vault, number)
    if person is None or person.name_sealed is None:
        return IdentityMatch(UNKNOWN, False)
    same_name = hmac.compare_digest(_normal(vault.open(person.name_sealed, context=NAME)).encode(),
                                    _normal(name).encode())
    if not same_name:
        return IdentityMatch(NO_MATCH, False)
    if face_session is None:
        return IdentityMatch(MATCH, False)
    face = await FaceSession.get_or_none(id=face_session, person_id=person.id)
    fresh = face is not None and face.passed and face.read_at is not None and now - face.read_at <= FACE_FRESH
    return IdentityMatch(MATCH if fresh else NO_MATCH, True)


def _normal(name: str) -> str:
    """Full-width and half-width forms, stray spaces and the middle dots of minority names compare equal."""
    text = unicodedata.normalize("NFKC", name).strip()
    return "".join(text.split()).replace("•", "·").replace("．", "·")
