"""Shapes of identity results per channel: mini-programs get compact bodies, the app richer ones."""
from __future__ import annotations

from bff.common.schemas import Person, PersonCompact, shaped
from domain.identity.people import PersonView
from domain.identity.tokens import IssuedSession
from domain.shared.clock import SHANGHAI


@shaped(PersonCompact)
def person_compact(view: PersonView) -> dict:
    return {"id": view.id, "assurance": view.assurance, "name_masked": view.name_masked,
            "id_number_masked": view.id_number_masked, "phone_masked": view.phone_masked}


@shaped(Person)
def person_full(view: PersonView) -> dict:
    verified = view.real_name_verified_at
    return {**person_compact(view), "channels": list(view.channels),
            "real_name_verified_at": verified.astimezone(SHANGHAI).isoformat() if verified else None}


def session(issued: IssuedSession, person: dict) -> dict:
    return {"access_token": issued.access_token, "refresh_token": issued.refresh_token,
            "expires_in": issued.expires_in, "token_type": issued.token_type, "person": person}
