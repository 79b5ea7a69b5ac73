"""Numbers the department stub assigns as a department would: valid for the standards' own checks."""
from __future__ import annotations

import pytest
from stdnum.cn import ric, uscc

from adapters.departments.stub.licenses import child_id_number, company_credit_code


@pytest.mark.parametrize("certificate", [f"N330106{n:05d}" for n in range(40)])
@pytest.mark.parametrize("sex", ["男", "女"])
def test_a_newborns_id_number_is_valid_and_carries_the_sex(certificate, sex):
    number = child_id_number("330106", "2026-11-20", certificate, sex)
    assert ric.is_valid(number) and ric.get_birth_date(number).isoformat() == "2026-11-20"
    assert int(number[16]) % 2 == (1 if sex == "男" else 0)  # GB 11643: odd for men, even for women
    assert child_id_number("330106", "2026-11-20", certificate, sex) == number  # a repeat: the same number


@pytest.mark.parametrize("application", [f"330106-20261127-{n:06d}" for n in range(1, 30)])
def test_a_companys_credit_code_is_valid(application):
    assert uscc.is_valid(company_credit_code("330106", application))
