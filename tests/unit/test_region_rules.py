"""Division codes: level, parent and ancestors follow from the digits (2+2+2+3+3)."""
from __future__ import annotations

import pytest

from domain.regions import rules
from domain.regions.errors import InvalidRegionCode
from domain.regions.rules import RowRejected


@pytest.mark.parametrize(("code", "level"), [
    ("330000000000", rules.PROVINCE),
    ("330100000000", rules.CITY),
    ("330106000000", rules.COUNTY),
    ("330106002000", rules.TOWNSHIP),
    ("330106002001", rules.VILLAGE),
    ("110100000000", rules.CITY),        # 北京 市辖区: a municipality's own city level
    ("429000000000", rules.CITY),        # 湖北 省直辖县级行政区划: placeholder city
    ("429004000000", rules.COUNTY),      # 仙桃市 under it
    ("441900003000", rules.TOWNSHIP),    # 东莞: townships straight under the city
])
def test_level_follows_from_the_last_non_zero_segment(code, level):
    assert rules.level_of(code) == level


@pytest.mark.parametrize(("code", "parent"), [
    ("330000000000", None),
    ("330100000000", "330000000000"),
    ("330106000000", "330100000000"),
    ("330106002000", "330106000000"),
    ("330106002001", "330106002000"),
    ("110101000000", "110100000000"),    # 东城区 -> 市辖区, not straight to 北京市
    ("110100000000", "110000000000"),
    ("500101000000", "500100000000"),    # 重庆 万州区 -> 市辖区
    ("500229000000", "500200000000"),    # 重庆 城口县 -> 县
    ("429004000000", "429000000000"),    # 仙桃市 -> 省直辖县级行政区划
    ("429000000000", "420000000000"),
    ("441900003000", "441900000000"),    # the missing county level is skipped
])
def test_parent_is_one_non_zero_segment_up(code, parent):
    assert rules.parent_of(code) == parent


def test_ancestors_run_from_province_down_to_the_code_itself():
    assert rules.ancestors("110101001001") == [
        "110000000000", "110100000000", "110101000000", "110101001000", "110101001001"]
    assert rules.ancestors("330000000000") == ["330000000000"]
    assert rules.ancestors("441900003000") == ["440000000000", "441900000000", "441900003000"]
    assert rules.ancestors("4290") == ["420000000000", "429000000000"]


def test_municipalities_and_direct_administered_units():
    assert [rules.is_municipality(c) for c in ("11", "12", "31", "50", "33")] == [True] * 4 + [False]
    assert rules.is_direct_administered("429004000000")
    assert rules.is_direct_administered("659002000000")  # 自治区直辖 阿拉尔市
    assert not rules.is_direct_administered("420000000000")
    assert not rules.is_direct_administered("420100000000")


@pytest.mark.parametrize(("raw", "full"), [
    ("33", "330000000000"), ("3301", "330100000000"), ("330106", "330106000000"),
    ("330106002", "330106002000"), (" 330106002001 ", "330106002001"),
])
def test_normalize_pads_the_short_forms(raw, full):
    assert rules.normalize(raw) == full


@pytest.mark.parametrize(("raw", "why"), [
    ("", "为空"),
    ("33010", "2、4、6、9或12位"),
    ("3301060020010", "2、4、6、9或12位"),
    ("33010a", "只含数字"),
    ("３３", "只含数字"),                      # full-width digits are not ASCII
    ("990000000000", "省级代码 99 不存在"),
    ("000000000000", "省级代码 00 不存在"),
    ("330006000000", "缺少地级代码"),         # a county with no city
    ("330100000001", "缺少乡级代码"),         # a village with no township
    (330106, "数字文本"),
])
def test_bad_codes_are_refused_with_a_reason(raw, why):
    with pytest.raises(InvalidRegionCode) as caught:
        rules.normalize(raw)
    assert why in caught.value.detail
    assert caught.value.code == "invalid_region_code"
    assert not rules.is_code(raw)


def test_is_within_uses_the_chain():
    assert rules.is_within("330106002001", "330000000000")
    assert rules.is_within("330106002001", "3301")
    assert rules.is_within("330106000000", "330106000000")
    assert not rules.is_within("330106000000", "320000000000")
    assert not rules.is_within("330100000000", "330106000000")  # a parent is not inside its child


def test_check_row_takes_a_good_row_and_pads_the_codes():
    row = rules.check_row(["330106", " 西湖区 ", "3301"])
    assert (row.code, row.name, row.level, row.parent_code) == ("330106000000", "西湖区", 3, "330100000000")
    assert rules.check_row(["11", "北京市", "0"]).parent_code is None
    assert rules.check_row(["11", "北京市"]).parent_code is None


@pytest.mark.parametrize(("fields", "reason"), [
    (["330106000000"], "columns"),
    (["330106000000", "西湖区", "330100000000", "x"], "columns"),
    (["33010X000000", "西湖区", "330100000000"], "bad_code"),
    (["330106000000", "  ", "330100000000"], "bad_name"),
    (["330106000000", "西" * 129, "330100000000"], "bad_name"),
    (["330106000000", "西湖区", "3301000"], "bad_parent"),
    (["330106000000", "西湖区", "330000000000"], "level_mismatch"),   # skips the city
    (["330106000000", "西湖区", "320100000000"], "parent_mismatch"),  # another province's city
    (["330106000000", "西湖区", ""], "parent_mismatch"),             # no parent given
    (["330000000000", "浙江省", "110000000000"], "parent_mismatch"),  # a province has none
])
def test_check_row_rejects_with_a_stable_reason(fields, reason):
    with pytest.raises(RowRejected) as caught:
        rules.check_row(fields)
    assert caught.value.reason == reason
    assert caught.value.message


def test_department_problems_name_each_bad_field():
    assert rules.department_problems(code="330100-market_supervision", name="杭州市市场监督管理局",
                                     region_code="330100000000", kind="market_supervision") == []
    problems = rules.department_problems(code="Bad Code!", name="", region_code="99", kind="police")
    assert [p["field"] for p in problems] == ["code", "name", "region_code", "kind"]


def test_department_codes_are_credit_codes_or_slugs():
    assert rules.is_department_code("bj-psb")
    assert rules.is_department_code("11100000000013127D")  # a valid GB 32100 check character
    assert not rules.is_department_code("11100000000013127X")
    assert not rules.is_department_code("BJ-PSB")
    assert not rules.is_department_code("-psb")
