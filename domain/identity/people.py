"""People: creating, finding through channel accounts, merging, and the masked view of a person."""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace

from tortoise import connections

from domain.identity import rules
from domain.identity.errors import UNKNOWN_PERSON, TokenInvalid
from domain.identity.models import ChannelAccount, Person
from domain.shared.rows import select_in
from domain.shared.vault import Vault

ID_NUMBER = "person.id_number"
NAME = "person.name"
PHONE = "person.phone"
SESSION_KEY = "account.session_key"


@dataclass(frozen=True)
class PersonView:
    """What a channel may show of a person: masked, never the clear ID number."""

    id: str
    assurance: int
    name_masked: str | None
    id_number_masked: str | None
    phone_masked: str | None
    real_name_verified_at: datetime | None
    channels: tuple[str, ...]


@dataclass(frozen=True)
class Applicant:
    """A person as an application records them: their assurance now and their masked name."""

    id: str
    assurance: int
    name_masked: str | None


def new_public_id() -> str:
    return "p_" + secrets.token_hex(12)


async def resolve(public_id: str) -> Person:
    """The person a token names, following merges to the survivor."""
    person = await Person.get_or_none(public_id=public_id)
    if person is None:
        raise TokenInvalid(UNKNOWN_PERSON)
    return await survivor(person)


async def survivor(person: Person) -> Person:
    seen = set()
    while person.merged_into_id is not None and person.id not in seen:
        seen.add(person.id)
        person = await Person.get(id=person.merged_into_id)
    return person


async def account_owner(channel: str, subject: str) -> tuple[ChannelAccount | None, Person | None]:
    account = await ChannelAccount.get_or_none(channel=channel, subject=subject)
    if account is None:
        return None, None
    return account, await survivor(await Person.get(id=account.person_id))


async def view(person: Person, vault: Vault, now: datetime) -> PersonView:
    from domain.shared.values import mask_phone

    channels = await ChannelAccount.filter(person_id=person.id).order_by("channel").values_list("channel", flat=True)
    who = applicant(person, vault, now)
    phone = vault.open(person.phone_sealed, context=PHONE) if person.phone_sealed else None
    return PersonView(
        id=who.id,
        assurance=who.assurance,
        name_masked=who.name_masked,
        id_number_masked=person.id_number_masked,
        phone_masked=mask_phone(phone) if phone else None,
        real_name_verified_at=person.real_name_verified_at,
        channels=tuple(sorted(set(channels))),
    )


APPLICANT_FIELDS = ("id", "public_id", "merged_into_id", "name_sealed", "assurance", "face_verified_at")


async def applicants(public_ids: Sequence[str], vault: Vault, now: datetime) -> dict[str, Applicant]:
    """``applicant`` for many people, by the id asked for, in one query of the fields it reads
    (rows, not models: a batch of submissions asks this once per batch); a merged record — rare —
    is followed to its survivor through the models. Unknown ids are left out."""
    rows = await select_in(Person, APPLICANT_FIELDS, where="public_id", values=sorted(set(public_ids)),
                           connection=connections.get("default"))
    return {row["public_id"]: applicant(SimpleNamespace(**row) if row["merged_into_id"] is None
                                        else await survivor(await Person.get(id=row["id"])), vault, now)
            for row in rows}


def applicant(person: Person | SimpleNamespace, vault: Vault, now: datetime) -> Applicant:
    """``person``: a Person, or a record of ``APPLICANT_FIELDS``."""
    from domain.shared.values import mask_name

    name = vault.open(person.name_sealed, context=NAME) if person.name_sealed else None
    return Applicant(id=person.public_id, name_masked=mask_name(name) if name else None,
                     assurance=rules.current_assurance(stored=person.assurance, face_verified_at=person.face_verified_at,
                                                       now=now))


async def merge_into(*, absorbed: Person, survivor_person: Person, at: datetime) -> None:
    """Two records turned out to be one citizen: the survivor takes every channel account.

    The absorbed record stays (tokens and history may name it) and points at the survivor, from
    ``at`` on (the figures count people as they were at a moment). Call inside a transaction."""
    await ChannelAccount.filter(person_id=absorbed.id).update(person_id=survivor_person.id)
    absorbed.merged_into_id, absorbed.merged_at = survivor_person.id, at
    await absorbed.save(update_fields=["merged_into_id", "merged_at", "updated_at"])
