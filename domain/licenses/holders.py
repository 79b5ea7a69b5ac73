"""``Holders`` through the identity service: the wallet of a person is found by their ID number."""
from __future__ import annotations

from domain.identity.errors import AssuranceRequired
from domain.identity.service import IdentityService


class IdentityHolders:
    def __init__(self, identity: IdentityService) -> None:
        self._identity = identity

    async def id_number_of(self, person_id: str) -> str | None:
        try:
            return (await self._identity.reveal(person_id=person_id))["id_number"]
        except AssuranceRequired:  # no real name yet: no wallet
            return None
