"""Typed errors of the housing fund module (stable codes, Chinese titles)."""
from __future__ import annotations

from domain.shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class FundAccountNotFound(NotFound):
    code = "fund_account_not_found"
    title = "未找到该住房公积金账户"


class WithdrawalNotEligible(InvalidInput):
    """A rule of the kind is not met: ``checks`` says which, rule by rule."""

    code = "withdrawal_not_eligible"
    title = "不符合住房公积金提取条件"


class WithdrawalLimitExceeded(Conflict):
    """The amount passed the check, but a withdrawal submitted meanwhile took the limit."""

    code = "withdrawal_limit_exceeded"
    title = "超过本期可提取额度"


class BankCardNotOwn(InvalidInput):
    code = "bank_card_not_own"
    title = "收款银行卡须为本人名下的银行卡"


class WithdrawalNotFound(NotFound):
    code = "withdrawal_not_found"
    title = "未找到该提取申请"


class WithdrawalAlreadySubmitted(Conflict):
    code = "withdrawal_already_submitted"
    title = "该提取申请已提交"


class WithdrawalExpired(Conflict):
    code = "withdrawal_expired"
    title = "提取申请已过期，请重新发起"


class FaceBindingMissing(Forbidden):
    """L3 for a withdrawal: a face scan of this withdrawal, passed, at most five minutes old.
    Same code as identity's AssuranceRequired, so clients handle both alike."""

    code = "assurance_required"
    title = "请先完成本次提取的人脸核验"


class PayoutNotFound(NotFound):
    code = "payout_not_found"
    title = "未找到该支付指令"

