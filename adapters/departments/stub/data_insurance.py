"""The department stub's Beijing social insurance records (``social-insurance-payments``,
adapters/departments/stub/data_services.py): who is insured, since when, on what base, and what
each month's contributions were.

The social insurance bureau holds those insured in Beijing (ID numbers of Beijing's codes, adults,
most of them; the demo people's records from ``DEMO_PEOPLE``), anyone else valid is 404
``{"code": "not_found"}``. Months are ``(year, month)`` tuples inside, ``"YYYY-MM"`` outside.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from adapters.departments.stub.data_records import DEMO_PEOPLE, Draw, Person, Refused, in_beijing, person

NO_INSURANCE = "本市无此人参保记录"  # the 404 answer, also the published 404 of the OpenAPI document
MAX_PERIOD_MONTHS = 60
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"  # "YYYY-MM", also the published schema of a month

# the contribution base's bounds (元/月) by insurance year (July to June), close to Beijing's
BASE_BOUNDS = {2019: (3613, 25401), 2020: (3613, 26541), 2021: (5360, 28221), 2022: (5869, 31884),
               2023: (6326, 33891), 2024: (6821, 35283), 2025: (7162, 36549)}
# employer: pension 16%, medical (maternity included) 9.8%, unemployment 0.5%, work injury 0.4%
EMPLOYER_RATE = Decimal("0.267")
PERSONAL_RATE = Decimal("0.105")  # pension 8%, medical 2%, unemployment 0.5%
PERSONAL_FLAT = Decimal(3)      # 大额医疗互助资金, 3 元 a month
INSURANCE_TYPES = ["企业职工基本养老保险", "职工基本医疗保险（含生育保险）", "失业保险", "工伤保险"]
INSURANCE_STATUSES = ("正常参保", "暂停缴费", "已退休")
PENSION_REFORM = "1992-10"  # the earliest month on record
CENT = Decimal("0.01")

_MONTH = re.compile(MONTH_PATTERN)


def _month(text: str) -> tuple[int, int]:
    return int(text[:4]), int(text[5:7])


def _month_text(month: tuple[int, int]) -> str:
    return f"{month[0]:04d}-{month[1]:02d}"


def _add_months(month: tuple[int, int], n: int) -> tuple[int, int]:
    index = month[0] * 12 + month[1] - 1 + n
    return index // 12, index % 12 + 1


def _months_between(first: tuple[int, int], last: tuple[int, int]) -> int:
    """How many months from ``first`` to ``last``, both included (0 when last is before first)."""
    return max(0, (last[0] * 12 + last[1]) - (first[0] * 12 + first[1]) + 1)


def _insurance_year(month: tuple[int, int]) -> int:
    """The insurance year (July to June) a month falls in, by the year it starts."""
    return month[0] if month[1] >= 7 else month[0] - 1


def _bounds(insurance_year: int) -> tuple[Decimal, Decimal]:
    if insurance_year in BASE_BOUNDS:
        low, high = BASE_BOUNDS[insurance_year]
        return Decimal(low), Decimal(high)
    edge = min(BASE_BOUNDS) if insurance_year < min(BASE_BOUNDS) else max(BASE_BOUNDS)
    if insurance_year < edge:
        factor = Decimal("0.93") ** (edge - insurance_year)
    else:
        factor = Decimal("1.05") ** (insurance_year - edge)
    low, high = BASE_BOUNDS[edge]
    return (Decimal(low) * factor).quantize(Decimal(1)), (Decimal(high) * factor).quantize(Decimal(1))


def _insurance(id_number: str, someone: Person, today: date) -> dict | None:
    """Start, end, status and the first wage of someone insured in Beijing; None: no record."""
    if id_number in DEMO_PEOPLE:
        return DEMO_PEOPLE[id_number]["insurance"]
    draw = Draw(id_number)
    if not in_beijing(id_number) or someone.age_on(today) < 18 or draw.chance("uninsured", 10):
        return None
    start = max((someone.birth_date.year + 22 + draw.between("start", 0, 3), 7), _month(PENSION_REFORM))
    last = _add_months((today.year, today.month), -1)
    retire_age = 60 if someone.sex == "男" else 55
    retired = (someone.birth_date.year + retire_age, someone.birth_date.month)
    if start > last:
        return None
    if retired <= last:
        end, status = retired, "已退休"
    elif draw.chance("stopped", 8) and (
            stopped := max(start, _add_months((2023, 1), draw.number("stopped_in", 36)))) < last:
        end, status = stopped, "暂停缴费"
    else:
        end, status = None, "正常参保"
    low, _high = _bounds(_insurance_year(start))
    wage = int(low * Decimal(draw.between("wage", 100, 300)) / 100)
    return {"start": _month_text(start), "end": _month_text(end) if end else None, "status": status,
            "wage": wage}


def _base(record: dict, month: tuple[int, int]) -> Decimal:
    """The contribution base of a month: the first wage grown 6% a year, within the year's bounds."""
    first_year = _insurance_year(_month(record["start"]))
    year = _insurance_year(month)
    low, high = _bounds(year)
    grown = (Decimal(record["wage"]) * Decimal("1.06") ** (year - first_year)).quantize(Decimal(1))
    return min(max(grown, low), high)


def _period(query: dict[str, list[str]], today: date) -> tuple[tuple[int, int], tuple[int, int]]:
    current = (today.year, today.month)
    values = {}
    for key in ("from", "to"):
        given = query.get(key, [])
        if len(given) > 1:
            raise Refused(400, "invalid_period", f"参数 {key} 重复给出")
        if given:
            if not _MONTH.fullmatch(given[0]):
                raise Refused(400, "invalid_period", f"参数 {key} 应为 YYYY-MM")
            values[key] = _month(given[0])
    last = values.get("to", _add_months(current, -1))
    first = values.get("from", _add_months(last, -11))
    if last > current:
        raise Refused(400, "invalid_period", "截止月份不得晚于本月")
    if first > last:
        raise Refused(400, "invalid_period", "起始月份晚于截止月份")
    if _months_between(first, last) > MAX_PERIOD_MONTHS:
        raise Refused(400, "invalid_period", f"查询期间最长 {MAX_PERIOD_MONTHS} 个月")
    return first, last


def _yuan(amount: Decimal) -> str:
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def social_insurance_payments(id_number: str, query: dict[str, list[str]], today: date) -> dict:
    """``social-insurance-payments`` for the period the query names (default: the 12 months to last month)."""
    first, last = _period(query, today)
    someone = person(id_number)
    record = _insurance(id_number, someone, today)
    if record is None:
        raise Refused(404, "not_found", NO_INSURANCE)
    start = _month(record["start"])
    # this month's contributions are collected at its end: on record up to last month
    end = min(_month(record["end"]) if record["end"] else (9999, 12),
              _add_months((today.year, today.month), -1))
    months = []
    month = max(first, start)
    while month <= min(last, end):
        base = _base(record, month)
        months.append({"month": _month_text(month), "base": _yuan(base),
                       "employer": _yuan(base * EMPLOYER_RATE),
                       "personal": _yuan(base * PERSONAL_RATE + PERSONAL_FLAT)})
        month = _add_months(month, 1)
    return {"name": someone.name, "insured_city": "北京市", "insurance_types": list(INSURANCE_TYPES),
            "months": months, "total_months": _months_between(start, min(last, end)),
            "status": record["status"]}
