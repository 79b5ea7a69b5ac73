"""The instant-approval rules (pure): each named rule's pass / fail / cannot-decide with its
message, the name format, the scope list, and the unified social credit code's check digits."""
from __future__ import annotations

import pytest
from hypothesis import given, strategies as st
from stdnum.cn import uscc

from domain.applications import instant_approval as ia

XIHU = ["浙江省", "杭州市", "西湖区"]
DONGCHENG = ["北京市", "市辖区", "东城区"]
SCOPE = ia.scope_list()


def _facts(**changes) -> ia.ApprovalFacts:
    form = {"business_name": "西湖区张丽鲜花店", "operator_name": "张丽", "address_region_code": "330106002000",
            "business_scope": ["花卉绿植租借与代管理"]}
    values = {"assurance": 2, "real_name": "张丽", "form": form, "matter_region": "330106000000",
              "region_path": XIHU, "address_region_known": True, "credit": ia.CreditFacts("clear"),
              "registry": ia.NameRegistryFacts("free"), "seal_name": "西湖区市场监督管理局电子印章"}
    return ia.ApprovalFacts(**{**values, **changes})


def test_everything_right_is_approvable_with_eight_passed_checks():
    checks = ia.evaluate(_facts())
    assert [c.result for c in checks] == ["passed"] * 8 and ia.approvable(checks)
    assert ia.summary(checks) == "已通过全部8项自动审查，即时办结"
    assert checks[2].message == "名称由行政区划“西湖区”、字号“张丽”、行业“鲜花”、组织形式“店”组成"


@pytest.mark.parametrize("changes, rule, result", [
    ({"assurance": 1}, "applicant_verified", "failed"),
    ({"real_name": None}, "operator_is_applicant", "undecided"),
    ({"real_name": "王强"}, "operator_is_applicant", "failed"),
    ({"region_path": []}, "name_well_formed", "undecided"),
    ({"registry": ia.NameRegistryFacts("taken", "西湖区张丽鲜花店")}, "name_available", "failed"),
    ({"registry": ia.NameRegistryFacts("similar", "西湖区张丽鲜花部")}, "name_available", "undecided"),
    ({"registry": ia.NameRegistryFacts("unknown")}, "name_available", "undecided"),
    ({"address_region_known": False}, "address_in_region", "undecided"),
    ({"credit": ia.CreditFacts("record", ("失信被执行人",))}, "no_disqualifying_record", "failed"),
    ({"credit": ia.CreditFacts("unavailable")}, "no_disqualifying_record", "undecided"),
    ({"seal_name": None}, "license_issuable", "undecided"),
])
def test_one_rule_not_passing_means_an_examiner(changes, rule, result):
    checks = {c.rule: c for c in ia.evaluate(_facts(**changes))}
    assert checks[rule].result == result and checks[rule].message
    assert not ia.approvable(list(checks.values()))
    assert ia.summary(list(checks.values())) == f"1项需人工审核（{checks[rule].title}），已转登记机关办理"


@pytest.mark.parametrize("name, problem", [
    ("西湖区王强便利公司", "不得使用“公司”"),
    ("西湖区中国便利店", "不得使用“中国”"),
    ("王强便利店", "应以登记机关所在地行政区划开头"),
    ("上城区王强便利店", "应以登记机关所在地行政区划开头"),
    ("西湖区王强便利", "应以组织形式结尾"),
    ("西湖区王强好店", "写明行业"),
    ("西湖区王便利店", "字号应为2到10个汉字"),
    ("西湖区west便利店", "规范汉字"),
    ("西湖区西湖便利店", "字号不得使用行政区划名称"),
])
def test_malformed_names_say_what_is_wrong(name, problem):
    parsed = ia.parse_name(name, XIHU, SCOPE.industry_terms())
    assert isinstance(parsed, str) and problem in parsed


@pytest.mark.parametrize("name, division, key", [
    ("浙江省杭州市西湖区阿明理发工作室", "浙江省杭州市西湖区", "阿明理发工作室"),
    ("杭州市西湖区王强便利店", "杭州市西湖区", "王强便利店"),
    ("西湖区王强便利店", "西湖区", "王强便利店"),
])
def test_a_name_may_write_its_division_long_or_short_and_is_one_name(name, division, key):
    parsed = ia.parse_name(name, XIHU, SCOPE.industry_terms())
    assert (parsed.division, parsed.key) == (division, key)


def test_municipal_districts_are_no_part_of_a_name():
    assert ia.division_prefixes(DONGCHENG) == ["北京市东城区", "东城区"]
    assert ia.parse_name("北京市东城区胡同文具店", DONGCHENG, SCOPE.industry_terms()).word == "胡同"


def test_the_name_industry_must_be_one_of_the_business_own():
    check = ia.name_well_formed("西湖区张丽服装店", XIHU, ["花卉绿植租借与代管理"], SCOPE)
    assert check.result == "failed" and "“服装”与申请的经营范围不一致" in check.message


def test_scope_items_outside_the_list_or_needing_a_permit_go_to_an_examiner():
    assert ia.scope_permitted(["日用百货销售", "服装服饰零售"], SCOPE).passed
    assert ia.scope_permitted([], SCOPE).result == "failed"
    unknown = ia.scope_permitted(["卖花"], SCOPE)
    assert unknown.result == "failed" and "“卖花”不在经营范围规范表述目录中" in unknown.message
    permit = ia.scope_permitted(["餐饮服务"], SCOPE)
    assert permit.result == "failed" and "须取得食品经营许可证" in permit.message


@pytest.mark.parametrize("code, result", [
    ("330106000000", "passed"), ("330106002000", "passed"), ("330102001000", "failed"),
    ("3301060", "failed"), ("990106002000", "failed"), (None, "failed"),
])
def test_the_premises_lie_in_the_authority_region(code, result):
    assert ia.address_in_region(code, "330106000000", True).result == result


def test_organisation_code_check_character_follows_gb_11714():
    assert ia.organisation_check_char("60003734") == "1"  # 91110000600037341L, a published code
    assert ia.organisation_check_char("MA2CDEF1") == "4"


@given(st.integers(min_value=0, max_value=ia.SERIAL_SPACE - 1),
       st.sampled_from(["330106", "110101", "310101", "330102"]))
def test_every_credit_code_is_valid_and_tells_its_region_and_kind(serial, region6):
    code = ia.credit_code(region6, serial)
    assert uscc.is_valid(code) and code[:2] == "92" and code[2:8] == region6
    assert code[8:10] == "MA" and ia.organisation_check_char(code[8:16]) == code[16]


@given(st.lists(st.integers(min_value=0, max_value=ia.SERIAL_SPACE - 1), min_size=2, max_size=20, unique=True))
def test_distinct_serials_give_distinct_codes(serials):
    assert len({ia.credit_code("330106", s) for s in serials}) == len(serials)


def test_a_serial_out_of_range_is_refused():
    with pytest.raises(ValueError):
        ia.credit_code("330106", ia.SERIAL_SPACE)
