"""Shapes of housing fund answers per channel. Mini-programs get few fields, amounts also as text,
and the page path a message opens; the app gets the whole record (deposit history, the rules as
judged, the application) and its deep link. Times in Beijing time."""
from __future__ import annotations

from datetime import datetime

from bff.common.housing_fund_schemas import (
    AccountsCompact,
    AccountsFull,
    EligibilityCompact,
    EligibilityFull,
    FaceOut,
    WithdrawalCompact,
    WithdrawalFull,
)
from bff.common.schemas import shaped
from domain.housing_fund import rules
from domain.housing_fund.views import AccountsOverview, CentreAccounts, FaceChallengeView, WithdrawalView
from domain.shared.clock import SHANGHAI

MINI_PAGE = "pages/housing-fund/withdrawal?id={id}"
APP_LINK = "govhub://housing-fund/withdrawals/{id}"
UNREACHABLE = "该公积金中心暂时无法连接，账户信息以中心为准，请稍后再试"


def _time(value: datetime | None) -> str | None:
    return value.astimezone(SHANGHAI).isoformat() if value else None


def yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}元"


def _masked_account(account_no: str) -> str:
    return account_no[:4] + "*" * max(len(account_no) - 8, 0) + account_no[-4:]


# --- accounts ------------------------------------------------------------------------------


def account_compact(a: rules.Account) -> dict:
    return {"centre_code": a.centre_code, "centre_name": a.centre_name, "account_no": a.account_no,
            "account_no_masked": _masked_account(a.account_no), "status": a.status,
            "status_name": rules.ACCOUNT_STATUS_NAMES.get(a.status, a.status), "balance_fen": a.balance_fen,
            "balance_text": yuan(a.balance_fen), "deposit_months": a.deposit_months}


def account_full(a: rules.Account) -> dict:
    return {**account_compact(a), "monthly_deposit_fen": a.monthly_deposit_fen, "opened_on": a.opened_on.isoformat(),
            "sealed_on": a.sealed_on.isoformat() if a.sealed_on else None, "employer": a.employer,
            "history": [{"month": m.month, "amount_fen": m.amount_fen} for m in a.history]}


def _unreachable(c: CentreAccounts) -> dict:
    return {"centre_code": c.centre_code, "centre_name": c.centre_name, "message": UNREACHABLE}


@shaped(AccountsCompact)
def overview_compact(o: AccountsOverview) -> dict:
    return {"accounts": [account_compact(a) for a in o.accounts], "unreachable": [_unreachable(c) for c in o.unreachable]}


@shaped(AccountsFull)
def overview_full(o: AccountsOverview) -> dict:
    return {"accounts": [{**account_full(a), "as_of": _time(c.as_of)} for c in o.centres for a in c.accounts],
            "unreachable": [_unreachable(c) for c in o.unreachable],
            "centres": [{"centre_code": c.centre_code, "centre_name": c.centre_name, "reachable": c.reachable,
                         "as_of": _time(c.as_of)} for c in o.centres]}


# --- eligibility ---------------------------------------------------------------------------


@shaped(EligibilityCompact)
def eligibility_compact(e: rules.Eligibility) -> dict:
    return {"kind": e.kind, "kind_name": rules.KIND_NAMES[e.kind], "eligible": e.eligible,
            "available_fen": e.limit.available_fen, "available_text": yuan(e.limit.available_fen),
            "checks": [{"title": c.title, "passed": c.passed, "message": c.message} for c in e.checks],
            "materials": e.materials}


@shaped(EligibilityFull)
def eligibility_full(e: rules.Eligibility) -> dict:
    return {**eligibility_compact(e), "checks": [c.as_dict() for c in e.checks], "rule_clear": e.rule_clear,
            "needs_review": e.needs_review,
            "limit": {"period": e.limit.period, "cap_fen": e.limit.cap_fen, "available_fen": e.limit.available_fen,
                      "basis": e.limit.basis}}


# --- withdrawals ---------------------------------------------------------------------------


@shaped(WithdrawalCompact)
def withdrawal_compact(w: WithdrawalView) -> dict:
    return {"id": w.id, "kind": w.kind, "kind_name": w.kind_name, "amount_fen": w.amount_fen,
            "amount_text": yuan(w.amount_fen), "card_masked": w.card_masked, "status": w.status,
            "status_name": w.status_name, "reason": w.payout_reason, "page": MINI_PAGE.format(id=w.id)}


@shaped(WithdrawalFull)
def withdrawal_full(w: WithdrawalView) -> dict:
    return {**withdrawal_compact(w), "centre_code": w.centre_code, "account_no": w.account_no,
            "bank_name": w.bank_name, "rule_clear": w.rule_clear, "checks": w.checks, "payout_id": w.payout_id,
            "application_number": w.application_number, "application_status": w.application_status,
            "created_at": _time(w.created_at), "expires_at": _time(w.expires_at),
            "submitted_at": _time(w.submitted_at), "settled_at": _time(w.settled_at),
            "link": APP_LINK.format(id=w.id)}


@shaped(FaceOut)
def face(f: FaceChallengeView, face_verifications: str) -> dict:
    """The face session bound to the withdrawal: the SDK token, and where to read the verdict once
    (the identity route, which also answers the L3 session the submission needs)."""
    return {"id": f.id, "sdk_token": f.sdk_token, "expires_in": f.expires_in,
            "result": f"{face_verifications}/{f.id}"}
