"""Pure decisions over statistical division codes (统计用区划代码) and department records. No I/O.

A code has 12 digits in five segments, 2+2+2+3+3: province, city, county, township, village. The
first six are GB/T 2260. A region's level is its last non-zero segment, and its ancestors are its
prefixes at each non-zero segment boundary, so both follow from the digits alone:

    330106002001  浙江省 33 · 杭州市 01 · 西湖区 06 · 北山街道 002 · 社区 001  -> level 5

Two shapes that look odd are real. Municipalities (北京 11, 天津 12, 上海 31, 重庆 50) have a
city level of their own, ``110100000000`` 市辖区 (and 重庆 ``500200000000`` 县). County-level units
ruled by the province directly sit under a placeholder city, ``429000000000`` 省直辖县级行政区划,
so 仙桃市 ``429004000000`` is a county whose parent is that placeholder. And a few cities have no
counties at all (东莞 4419, 中山 4420, 儋州 4604, 嘉峪关 6202): their townships have a zero county
segment, ``441900003000``, and the city is their parent.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from stdnum.cn import uscc

from domain.regions.errors import InvalidRegionCode

PROVINCE, CITY, COUNTY, TOWNSHIP, VILLAGE = 1, 2, 3, 4, 5
LEVEL_NAMES = {PROVINCE: "province", CITY: "city", COUNTY: "county", TOWNSHIP: "township", VILLAGE: "village"}
LEVEL_TITLES = {PROVINCE: "省级", CITY: "地级", COUNTY: "县级", TOWNSHIP: "乡级", VILLAGE: "村级"}

_BOUNDS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))  # (start, end) of each level's segment
ACCEPTED_LENGTHS = (2, 4, 6, 9, 12)

# GB/T 2260 province-level codes: 31 provinces, regions and municipalities, then 台湾, 香港, 澳门.
PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
    "71", "81", "82",
})
MUNICIPALITIES = {"11": "北京市", "12": "天津市", "31": "上海市", "50": "重庆市"}
DIRECT_ADMINISTERED_CITY = "90"  # 4290, 4190, 4690, 6590: 省(自治区)直辖县级行政区划


# --- codes ------------------------------------------------------------------------------------


def normalize(raw: object) -> str:
    """The 12-digit form of a code given with 2, 4, 6, 9 or 12 digits; InvalidRegionCode else."""
    if not isinstance(raw, str):
        raise InvalidRegionCode("行政区划代码应为数字文本")
    digits = raw.strip()
    if not digits:
        raise InvalidRegionCode("行政区划代码为空")
    if not (digits.isascii() and digits.isdigit()):
        raise InvalidRegionCode(f"行政区划代码 {digits!r} 应只含数字")
    if len(digits) not in ACCEPTED_LENGTHS:
        raise InvalidRegionCode(f"行政区划代码 {digits} 应为2、4、6、9或12位数字")
    code = digits.ljust(12, "0")
    problem = code_problem(code)
    if problem:
        raise InvalidRegionCode(problem)
    return code


def code_problem(code: str) -> str | None:
    """Why a 12-digit string is no division code, or None. Only a county segment may be skipped."""
    province, city, county, township, village = _segments(code)
    if province not in PROVINCES:
        return f"行政区划代码 {code}：省级代码 {province} 不存在"
    if city == "00" and (county, township, village) != ("00", "000", "000"):
        return f"行政区划代码 {code}：缺少地级代码（第3-4位）"
    if township == "000" and village != "000":
        return f"行政区划代码 {code}：缺少乡级代码（第7-9位）"
    return None


def is_code(raw: object) -> bool:
    try:
        normalize(raw)
    except InvalidRegionCode:
        return False
    return True


def level_of(code: str) -> int:
    """1 province … 5 village: the last non-zero segment."""
    return _level(normalize(code))


def parent_of(code: str) -> str | None:
    """The code one level up (a skipped county level is skipped), or None for a province."""
    full = normalize(code)
    return _parent(full, _level(full))


def ancestors(code: str) -> list[str]:
    """The chain from the province down to the code itself, all 12-digit."""
    chain = [normalize(code)]
    while (parent := _parent(chain[-1], _level(chain[-1]))) is not None:
        chain.append(parent)
    return chain[::-1]


def is_within(code: str, area: str) -> bool:
    """Whether ``code`` is ``area`` or lies inside it."""
    return normalize(area) in ancestors(code)


def is_municipality(code: str) -> bool:
    return normalize(code)[:2] in MUNICIPALITIES


def is_direct_administered(code: str) -> bool:
    """A county-level unit the province rules itself (仙桃市 4290 04), or its placeholder city."""
    full = normalize(code)
    return level_of(full) >= CITY and full[2:4] == DIRECT_ADMINISTERED_CITY


def _segments(code: str) -> tuple[str, ...]:
    return tuple(code[start:end] for start, end in _BOUNDS)


# The two below take a code already normalized: an import calls them for every row.

def _level(full: str) -> int:
    for level in (VILLAGE, TOWNSHIP, COUNTY, CITY):
        if int(full[_BOUNDS[level - 1][0]:]):  # anything from this segment on
            return level
    return PROVINCE


def _parent(full: str, level: int) -> str | None:
    return None if level == PROVINCE else full[:_BOUNDS[level - 1][0]].ljust(12, "0")


# --- rows of an import ------------------------------------------------------------------------

NAME_MAX = 128
NO_PARENT = ("", "0")  # some national dumps write 0 for a province's parent


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: int
    parent_code: str | None


class RowRejected(ValueError):
    """Why one row of an import cannot be taken; ``reason`` is stable, ``message`` is Chinese."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


def check_row(fields: list[str]) -> RegionRow:
    """A validated row from its CSV fields ``code, name, parent``; RowRejected says why not."""
    if len(fields) not in (2, 3):
        raise RowRejected("columns", f"应有3列 code,name,parent，实有{len(fields)}列")
    if any("\ufffd" in cell for cell in fields):
        raise RowRejected("encoding", "该行不是有效的UTF-8文本（文件应以UTF-8编码保存）")
    code, name = _row_code(fields[0]), fields[1].strip()
    if not name or len(name) > NAME_MAX:
        raise RowRejected("bad_name", "名称为空" if not name else f"名称超过{NAME_MAX}个字符")
    given = fields[2].strip() if len(fields) == 3 else ""
    level = _level(code)
    expected = _parent(code, level)
    parent = None if given in NO_PARENT else _row_parent(given)
    if parent != expected:
        raise _parent_mismatch(code, parent, expected)
    return RegionRow(code=code, name=name, level=level, parent_code=parent)


def _row_code(raw: str) -> str:
    try:
        return normalize(raw)
    except InvalidRegionCode as exc:
        raise RowRejected("bad_code", exc.detail) from None


def _row_parent(raw: str) -> str:
    try:
        return normalize(raw)
    except InvalidRegionCode as exc:
        raise RowRejected("bad_parent", "上级" + exc.detail) from None


def _parent_mismatch(code: str, parent: str | None, expected: str | None) -> RowRejected:
    own = LEVEL_TITLES[level_of(code)]
    if expected is None:
        return RowRejected("parent_mismatch", f"省级区划 {code} 不应有上级，给出的是 {parent}")
    if parent is None:
        return RowRejected("parent_mismatch", f"{own}区划 {code} 缺少上级代码，应为 {expected}")
    if parent in ancestors(code):  # a real ancestor, but not the next level up
        return RowRejected("level_mismatch",
                           f"{own}区划 {code} 的上级应为{LEVEL_TITLES[level_of(expected)]} {expected}，"
                           f"给出的 {parent} 是{LEVEL_TITLES[level_of(parent)]}")
    return RowRejected("parent_mismatch", f"上级代码 {parent} 与本级代码 {code} 不符，应为 {expected}")


# --- departments and zones --------------------------------------------------------------------

DEPARTMENT_KINDS = {
    "government_services": "政务服务和数据管理",
    "market_supervision": "市场监督管理",
    "public_security": "公安",
    "civil_affairs": "民政",
    "health": "卫生健康",
    "human_resources_social_security": "人力资源和社会保障",
    "medical_security": "医疗保障",
    "housing_fund": "住房公积金",
    "housing_construction": "住房和城乡建设",
    "natural_resources": "自然资源和规划",
    "tax": "税务",
    "education": "教育",
    "transport": "交通运输",
    "exit_entry": "出入境管理",
    "veterans_affairs": "退役军人事务",
}
DEPARTMENT_STATUSES = ("active", "inactive")
# "<region6>-<kind>" (330100-market_supervision), as the catalog's matters name their departments
_STABLE_CODE = re.compile(r"^[a-z0-9][a-z0-9_-]{1,63}$")
_ZONE_CODE = re.compile(r"^[a-z]{2,16}$")


def department_problems(*, code: str, name: str, region_code: str, kind: str) -> list[dict[str, str]]:
    """Field problems of a department record, empty when it may be registered."""
    problems = []
    if not isinstance(code, str) or not is_department_code(code):
        problems.append({"field": "code", "message": "应为统一社会信用代码，或小写字母开头、由小写字母、数字和连字符组成的编码"})
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= NAME_MAX:
        problems.append({"field": "name", "message": f"应为1到{NAME_MAX}个字符"})
    if not is_code(region_code):
        problems.append({"field": "region_code", "message": "应为有效的行政区划代码"})
    if kind not in DEPARTMENT_KINDS:
        problems.append({"field": "kind", "message": "应为以下之一：" + "、".join(DEPARTMENT_KINDS)})
    return problems


def is_department_code(code: str) -> bool:
    """A unified social credit code (GB 32100) when the department's is known, else a stable slug."""
    return bool(_STABLE_CODE.match(code)) or (len(code) == 18 and uscc.is_valid(code))


def is_zone_code(code: object) -> bool:
    return isinstance(code, str) and bool(_ZONE_CODE.match(code))
