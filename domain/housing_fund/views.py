"""What the housing fund's use cases return: plain values, no ORM rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.housing_fund import rules
from domain.housing_fund.models import Withdrawal


@dataclass(frozen=True)
class CentreAccounts:
    centre_code: str
    centre_name: str
    reachable: bool
    accounts: list[rules.Account]
    as_of: datetime | None  # when the centre answered (a cached answer is at most 30 s old)


@dataclass(frozen=True)
class AccountsOverview:
    centres: list[CentreAccounts]

    @property
    def accounts(self) -> list[rules.Account]:
        return [a for c in self.centres for a in c.accounts]

    @property
    def unreachable(self) -> list[CentreAccounts]:
        return [c for c in self.centres if not c.reachable]


@dataclass(frozen=True)
class FaceChallengeView:
    id: str
    sdk_token: str
    expires_in: int


@dataclass(frozen=True)
class WithdrawalView:
    id: str
    kind: str
    centre_code: str
    account_no: str
    amount_fen: int
    card_masked: str
    bank_name: str | None
    status: str
    rule_clear: bool
    checks: list[dict]
    payout_id: str | None
    application_number: str | None
    payout_reason: str | None
    created_at: datetime
    expires_at: datetime
    submitted_at: datetime | None
    settled_at: datetime | None
    application_status: str | None = None  # detail only: the application's own status
    replayed: bool = False  # submit: the same Idempotency-Key came before; this is the first result

    @property
    def status_name(self) -> str:
        return rules.STATUS_NAMES[self.status]

    @property
    def kind_name(self) -> str:
        return rules.KIND_NAMES[self.kind]


@dataclass(frozen=True)
class WithdrawalStart:
    withdrawal: WithdrawalView
    face: FaceChallengeView


@dataclass(frozen=True)
class PayoutOutcome:
    payout_id: str
    event_id: str
    status: str
    applied: bool
    outcome: str  # applied | stale
    replayed: bool = False


def withdrawal_view(w: Withdrawal) -> WithdrawalView:
    return WithdrawalView(
        id=w.public_id, kind=w.kind, centre_code=w.centre_code, account_no=w.account_no, amount_fen=w.amount_fen,
        card_masked=w.card_masked, bank_name=w.bank_name, status=w.status, rule_clear=w.rule_clear,
        checks=list(w.checks), payout_id=w.payout_id, application_number=w.application_number,
        payout_reason=w.payout_reason, created_at=w.created_at, expires_at=w.expires_at,
        submitted_at=w.submitted_at, settled_at=w.settled_at)
