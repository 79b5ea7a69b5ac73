"""What the housing fund module needs from outside. Adapters implement these.

- ``FundCentres``: the housing-fund centres (住房公积金管理中心) of the cities where citizens are or
  were employed — accounts, balances, deposit history. The centre is the source of truth; an
  adapter raises ``UpstreamUnavailable`` when a centre cannot answer and never turns that into
  "no accounts" or a zero balance. (adapters/departments/fund_centre_client.py speaks the centre
  contract of docs/housing-fund.md; the department stub plays the demo centres.)
- ``BankCards``: the bank-card holder check (银行卡实名校验): does this card belong to this name and
  ID number? (adapters/departments/bank_card_stub.py offline.)
- ``AccountCache``: a short shared cache of what centres answered (Redis in the hub).
- ``PayoutSigner``: signs the payout instruction as the hub (GOVHUB-STMT-V1,
  ``domain/nodes/statements.StatementSigner`` with the hub's node key).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from domain.housing_fund.rules import Account


class FundCentres(Protocol):
    async def accounts(self, *, centre_code: str, id_number: str, name: str) -> list[Account]:
        """The person's accounts at this centre (with balance and the last 12 months of deposits);
        [] when the centre knows the person but has no account, or does not know them.
        Raises ``UpstreamUnavailable`` when the centre cannot answer."""


@dataclass(frozen=True)
class CardCheck:
    matched: bool  # the card exists and its holder is this name and ID number
    bank_name: str | None = None
    reason: str = ""  # "" | "holder_mismatch" | "card_not_found"


class BankCards(Protocol):
    async def check_holder(self, *, card_no: str, name: str, id_number: str) -> CardCheck:
        """Raises ``UpstreamUnavailable`` when the bank cannot answer (never "not matched")."""


class AccountCache(Protocol):
    async def get_json(self, key: str) -> Any | None: ...

    async def set_json(self, key: str, value: Any, *, ttl_seconds: int) -> None: ...


class PayoutSigner(Protocol):
    def sign(self, type: str, claims: dict[str, Any]) -> dict[str, str]:
        """The signed envelope of a statement of ``type`` vouching for ``claims``."""
