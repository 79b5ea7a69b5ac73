"""Value objects with their validation and masking rules: ID numbers, phone numbers, credit codes.

Masking is done here, once, so every response and log line shows the same shape.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from domain.shared.errors import InvalidInput

_PHONE = re.compile(r"^1[3-9]\d{9}$")
_REGION = re.compile(r"^\d{12}$")


class InvalidIdNumberError(InvalidInput):
    code = "invalid_id_number"
    title = "身份证号码格式或校验位有误"


class InvalidPhoneError(InvalidInput):
    code = "invalid_phone"
    title = "手机号码格式有误"


class InvalidCreditCodeError(InvalidInput):
    code = "invalid_credit_code"
    title = "统一社会信用代码有误"


@dataclass(frozen=True)
class IdNumber:
    """A resident identity card number (GB 11643), checked with stdnum.cn.ric."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> "IdNumber":
        if not isinstance(raw, str):
            raise InvalidIdNumberError("身份证号码应为18位字符")
        try:
            return cls(ric.validate(raw.strip().upper()))
        except ValidationError as exc:
            raise InvalidIdNumberError(f"身份证号码无效：{exc.message}") from exc

    @property
    def birth_date(self) -> date:
        return ric.get_birth_date(self.value)

    @property
    def masked(self) -> str:
        return mask_id_number(self.value)


@dataclass(frozen=True)
class Phone:
    """A mainland mobile number (11 digits)."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> "Phone":
        if not isinstance(raw, str):
            raise InvalidPhoneError("手机号码应为11位数字")
        digits = raw.strip().removeprefix("+86").removeprefix("86") if len(raw.strip()) > 11 else raw.strip()
        if not _PHONE.match(digits):
            raise InvalidPhoneError("手机号码应为以1开头的11位数字")
        return cls(digits)

    @property
    def masked(self) -> str:
        return mask_phone(self.value)


@dataclass(frozen=True)
class CreditCode:
    """A unified social credit code (GB 32100), checked with stdnum.cn.uscc."""

    value: str

    @classmethod
    def parse(cls, raw: str) -> "CreditCode":
        try:
            return cls(uscc.validate(str(raw).strip().upper()))
        except ValidationError as exc:
            raise InvalidCreditCodeError(f"统一社会信用代码无效：{exc.message}") from exc


def is_region_code(raw: str) -> bool:
    return isinstance(raw, str) and bool(_REGION.match(raw))


def mask_id_number(value: str) -> str:
    """``110105199003070017`` -> ``110105********0017``: region and last four stay."""
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


def mask_phone(value: str) -> str:
    """``13800000001`` -> ``138****0001``."""
    return value[:3] + "****" + value[-4:] if len(value) == 11 else "*" * len(value)


def mask_name(value: str) -> str:
    """``张丽`` -> ``*丽``, ``欧阳娜娜`` -> ``***娜``: only the last character stays."""
    return "*" * (len(value) - 1) + value[-1:] if value else value
