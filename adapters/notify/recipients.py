"""Where a person is reached: their channel accounts and phone, as identity keeps them.

Implements ``domain.notifications.ports.Recipients``. Identity's service has no use case for this
yet, so this adapter reads identity's own helpers (people.resolve follows merged records to the
survivor) and opens the phone with identity's vault context; it moves behind an
``IdentityService`` method once identity offers one (docs/notifications.md, "Known limits").
"""
from __future__ import annotations

from domain.identity import people
from domain.identity.errors import TokenInvalid
from domain.identity.models import ChannelAccount
from domain.shared.vault import Vault


class IdentityRecipients:
    def __init__(self, vault: Vault) -> None:
        self._vault = vault

    async def account(self, person_id: str, channel: str) -> str | None:
        try:
            person = await people.resolve(person_id)
        except TokenInvalid:
            return None
        account = await ChannelAccount.filter(person_id=person.id, channel=channel).order_by("-last_login_at").first()
        return account.subject if account else None

    async def phone(self, person_id: str) -> str | None:
        try:
            person = await people.resolve(person_id)
        except TokenInvalid:
            return None
        return self._vault.open(person.phone_sealed, context=people.PHONE) if person.phone_sealed else None
