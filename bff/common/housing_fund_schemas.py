"""Shapes of housing fund answers per channel (bff/common/housing_fund_presenters.py): amounts in
fen, and as text on mini-programs; the app also gets deposit history, the rules as judged and its
deep link."""
from __future__ import annotations

from pydantic import Field

from bff.common.schemas import Day, Out, Time


class AccountCompact(Out):
    centre_code: str
    centre_name: str
    account_no: str
    account_no_masked: str
    status: str = Field(description="normal | sealed | closed")
    status_name: str
    balance_fen: int
    balance_text: str
    deposit_months: int = Field(description="consecutive months deposited, up to the last month")


class DepositMonth(Out):
    month: str = Field(examples=["2026-10"])
    amount_fen: int


class AccountFull(AccountCompact):
    monthly_deposit_fen: int
    opened_on: Day
    sealed_on: Day | None
    employer: str | None
    history: list[DepositMonth]
    as_of: Time | None = Field(description="when the centre answered")


class Unreachable(Out):
    centre_code: str
    centre_name: str
    message: str


class CentreOut(Out):
    centre_code: str
    centre_name: str
    reachable: bool
    as_of: Time | None


class AccountsCompact(Out):
    accounts: list[AccountCompact] = Field(description="every account the reachable centres know")
    unreachable: list[Unreachable] = Field(description="centres that could not answer: unknown, never zero")


class AccountsFull(AccountsCompact):
    accounts: list[AccountFull]
    centres: list[CentreOut]


class CheckCompact(Out):
    title: str
    passed: bool
    message: str = Field(description="why, in plain Chinese")


class CheckFull(CheckCompact):
    rule: str


class MaterialAsked(Out):
    name: str
    license_type: str | None
    required: bool


class LimitOut(Out):
    period: str = Field(description="month | year | account")
    cap_fen: int
    available_fen: int
    basis: str


class EligibilityCompact(Out):
    kind: str
    kind_name: str
    eligible: bool
    available_fen: int = Field(description="the period's limit less what is paid or in flight, and the balance")
    available_text: str
    checks: list[CheckCompact]
    materials: list[MaterialAsked]


class EligibilityFull(EligibilityCompact):
    checks: list[CheckFull]
    rule_clear: bool = Field(description="every rule passed and nothing needs a person: approved at once")
    needs_review: bool
    limit: LimitOut


class WithdrawalCompact(Out):
    id: str
    kind: str
    kind_name: str
    amount_fen: int
    amount_text: str
    card_masked: str
    status: str = Field(description="awaiting_face | requested | paid | failed | returned")
    status_name: str
    reason: str | None = Field(description="why the payout failed or was returned")
    page: str


class WithdrawalFull(WithdrawalCompact):
    centre_code: str
    account_no: str
    bank_name: str | None
    rule_clear: bool
    checks: list[CheckFull]
    payout_id: str | None
    application_number: str | None
    application_status: str | None
    created_at: Time
    expires_at: Time
    submitted_at: Time | None
    settled_at: Time | None
    link: str


class FaceOut(Out):
    id: str
    sdk_token: str
    expires_in: int
    result: str = Field(description="GET it once after the SDK: the verdict and an L3 session")
