"""Instant approval (秒批) of sole-proprietor registration (个体工商户设立登记): the rules.

Pure decisions over plain facts, no I/O (the step that gathers the facts, reserves the name and
issues the license is ``instant_step.py``; docs/instant-approval.md explains both). Each rule is a
named function answering one question with a ``Check``:

- ``passed``: the rule is met;
- ``failed``: it is not met — the application goes to an examiner, who may still approve it (a
  failed rule here never refuses anything: it only means "a person must look");
- ``undecided``: the facts could not be had (the credit system is down, the name registry is not
  sure): also to an examiner. Only when every rule passed is the application approved at once.

Every message is plain Chinese, written for the citizen who reads it in the application's detail.
"""
from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from functools import cache
from pathlib import Path

from stdnum.cn import uscc

from domain.regions import rules as regions

PASSED, FAILED, UNDECIDED = "passed", "failed", "undecided"

# The national catalog item this step approves (docs/catalog-import.md): keyed on the code, never
# on the matter's name, so every region's matter of it is covered and nothing else is.
SOLE_PROPRIETOR_REGISTRATION = "NAT-0023"
REQUIRED_ASSURANCE = 2  # L2: real name verified against the public-security register

SEED_DATA = Path(__file__).resolve().parent / "seed_data"


@dataclass(frozen=True)
class Check:
    rule: str     # stable identifier (clients may branch on it)
    title: str    # what the rule asks
    result: str   # passed | failed | undecided
    message: str  # why, in plain Chinese

    @property
    def passed(self) -> bool:
        return self.result == PASSED

    def as_dict(self) -> dict:
        return {**asdict(self), "passed": True if self.passed else (None if self.result == UNDECIDED else False)}


def _check(rule: str, title: str, result: str, message: str) -> Check:
    return Check(rule=rule, title=title, result=result, message=message)


# --- 1. the applicant ----------------------------------------------------------------------


def applicant_verified(assurance: int) -> Check:
    """Registration binds a person to a business: only a real-name verified applicant (L2, checked
    against the public-security register) may be approved without an examiner."""
    title = "申请人已实名认证"
    if assurance >= REQUIRED_ASSURANCE:
        return _check("applicant_verified", title, PASSED, "申请人已通过实名认证")
    return _check("applicant_verified", title, FAILED, "申请人尚未完成实名认证")


def operator_is_applicant(operator_name: str | None, real_name: str | None) -> Check:
    """The operator (经营者) named in the form must be the applicant: a person may register their
    own business online, not somebody else's (that needs the other person's signature)."""
    title = "经营者为申请人本人"
    if not real_name:
        return _check("operator_is_applicant", title, UNDECIDED, "未能核实申请人的实名信息")
    if (operator_name or "").strip() == real_name:
        return _check("operator_is_applicant", title, PASSED, "经营者与实名认证的申请人一致")
    return _check("operator_is_applicant", title, FAILED, "表单中的经营者姓名与申请人实名信息不一致")


# --- 2. the business name (个体工商户名称) -----------------------------------------------------

# 名称依次由行政区划、字号、行业、组织形式组成 (《个体工商户名称登记管理办法》). Longest forms first.
ORGANISATION_FORMS = ("经营部", "服务部", "门市部", "工作室", "中心", "商行", "店", "厂", "馆", "部", "行",
                      "坊", "社", "铺", "园", "场", "站", "室")
# Forms of companies and cooperatives: a sole proprietor may not look like one.
COMPANY_FORMS = ("有限责任公司", "股份有限公司", "有限公司", "公司", "企业", "集团", "合作社")
# Words reserved to the state or misleading (examples of the official list, not all of it).
FORBIDDEN_WORDS = ("中国", "中华", "全国", "国家", "国际", "世界", "环球", "联合国", "政府", "共产党", "党委",
                   "部队", "军队", "警察", "公安", "法院", "检察", "特供", "专供", "国宾", "国宴", "驰名",
                   "第一", "最佳", "顶级", "赌", "毒品")
MUNICIPAL_DISTRICTS = "市辖区"  # a statistical level of municipalities, never part of a name
WORD_MIN, WORD_MAX = 2, 10  # 字号: two to ten characters
NAME_MAX = 50
_CHINESE = re.compile(r"^[\u4e00-\u9fff]+$")


@dataclass(frozen=True)
class ParsedName:
    division: str  # 行政区划 as written, e.g. 杭州市西湖区
    word: str      # 字号, e.g. 王强
    industry: str  # 行业用语, e.g. 便利
    form: str      # 组织形式, e.g. 店

    @property
    def key(self) -> str:
        """The name without its division: 杭州市西湖区王强便利店 and 西湖区王强便利店 are one name."""
        return self.word + self.industry + self.form


def division_prefixes(region_path: list[str]) -> list[str]:
    """How a name may write its division, longest first: 浙江省杭州市西湖区, 杭州市西湖区, 西湖区."""
    names = [n for n in region_path if n and n != MUNICIPAL_DISTRICTS]
    return sorted({"".join(names[i:]) for i in range(len(names))}, key=len, reverse=True)


def parse_name(name: str, region_path: list[str], industry_terms: dict[str, str]) -> ParsedName | str:
    """The parts of a name, or the first problem found (a plain-Chinese sentence).

    ``industry_terms``: every industry word the scope list knows -> the scope item it belongs to."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not _CHINESE.match(name):
        return f"名称应为{NAME_MAX}个字以内的规范汉字，不含字母、数字和符号"
    if found := next((w for w in FORBIDDEN_WORDS if w in name), None):
        return f"名称中不得使用“{found}”"
    if found := next((f for f in COMPANY_FORMS if f in name), None):
        return f"个体工商户名称不得使用“{found}”等企业组织形式"
    division = next((p for p in division_prefixes(region_path) if name.startswith(p)), None)
    if division is None:
        shortest = division_prefixes(region_path)[-1] if region_path else "所在县（区）"
        return f"名称应以登记机关所在地行政区划开头，例如“{shortest}”"
    rest = name[len(division):]
    form = next((f for f in ORGANISATION_FORMS if rest.endswith(f)), None)
    if form is None:
        return "名称应以组织形式结尾，例如“店”“馆”“部”“工作室”"
    middle = rest[: -len(form)]
    industry = next((t for t in sorted(industry_terms, key=len, reverse=True) if middle.endswith(t)), None)
    if industry is None:
        return "名称中应在组织形式前写明行业，例如“便利”“服装”“理发”"
    word = middle[: -len(industry)]
    if not WORD_MIN <= len(word) <= WORD_MAX:
        return f"字号应为{WORD_MIN}到{WORD_MAX}个汉字"
    if any(word in p or p in word for p in division_prefixes(region_path)):
        return "字号不得使用行政区划名称"
    return ParsedName(division=division, word=word, industry=industry, form=form)


def name_well_formed(name: str, region_path: list[str], scope_items: list[str], scope: ScopeList) -> Check:
    """The name follows the format rules, and its industry is one of the business's own (a 便利店
    may not sell only clothes)."""
    title = "名称符合个体工商户名称规范"
    if not region_path:
        return _check("name_well_formed", title, UNDECIDED, "未能取得登记机关所在地的行政区划名称，需要工作人员核对")
    parsed = parse_name(name, region_path, scope.industry_terms())
    if isinstance(parsed, str):
        return _check("name_well_formed", title, FAILED, parsed)
    owners = scope.items_of_term(parsed.industry)
    if not owners & set(scope_items):
        return _check("name_well_formed", title, FAILED,
                      f"名称中的行业“{parsed.industry}”与申请的经营范围不一致")
    return _check("name_well_formed", title, PASSED,
                  f"名称由行政区划“{parsed.division}”、字号“{parsed.word}”、行业“{parsed.industry}”、"
                  f"组织形式“{parsed.form}”组成")


@dataclass(frozen=True)
class NameRegistryFacts:
    """What the name registry said about the name in the registering region."""

    status: str  # free | taken | similar | unchecked (the name could not be parsed) | unknown
    other_name: str | None = None  # the registered name it collides with or resembles


def name_available(facts: NameRegistryFacts) -> Check:
    """No business in the same county-level region has the same name; a name with the same 字号
    and industry but another form (王强便利店 / 王强便利部) is for an examiner to compare."""
    title = "名称未被他人登记"
    if facts.status == "free":
        return _check("name_available", title, PASSED, "本辖区内没有相同的已登记名称")
    if facts.status == "taken":
        return _check("name_available", title, FAILED, f"本辖区内已有登记名称“{facts.other_name}”")
    if facts.status == "unchecked":
        return _check("name_available", title, UNDECIDED, "名称不符合规范，暂未查询是否已被登记")
    if facts.status == "similar":
        return _check("name_available", title, UNDECIDED,
                      f"与已登记名称“{facts.other_name}”相近，需要工作人员比对")
    return _check("name_available", title, UNDECIDED, "暂时无法查询名称登记情况")


# --- 3. the business scope (经营范围) ------------------------------------------------------------


@dataclass(frozen=True)
class ScopeItem:
    name: str                    # the standard wording (经营范围规范表述)
    terms: tuple[str, ...]       # industry words a name may use for it
    permit: str | None = None    # a prior permit it needs (许可项目): never approved instantly


@dataclass(frozen=True)
class ScopeList:
    items: tuple[ScopeItem, ...]

    def get(self, name: str) -> ScopeItem | None:
        return next((i for i in self.items if i.name == name), None)

    def industry_terms(self) -> dict[str, str]:
        return {term: item.name for item in self.items for term in item.terms}

    def items_of_term(self, term: str) -> set[str]:
        return {item.name for item in self.items if term in item.terms}


@cache
def scope_list() -> ScopeList:
    """The permitted scope items (seed_data/business_scope.json), read once."""
    rows = json.loads((SEED_DATA / "business_scope.json").read_text(encoding="utf-8"))["items"]
    return ScopeList(tuple(ScopeItem(name=r["name"], terms=tuple(r["terms"]), permit=r.get("permit"))
                           for r in rows))


def scope_permitted(items: list[str], scope: ScopeList) -> Check:
    """Every scope item is a general item of the permitted list, worded as the list words it;
    an item that needs a prior permit (食品经营许可证...) goes to an examiner."""
    title = "经营范围属于可即时登记的一般项目"
    if not items:
        return _check("scope_permitted", title, FAILED, "请至少选择一项经营范围")
    unknown = [i for i in items if scope.get(i) is None]
    if unknown:
        return _check("scope_permitted", title, FAILED,
                      f"“{'”“'.join(unknown)}”不在经营范围规范表述目录中，需要工作人员审核")
    permits = [f"“{i}”须取得{scope.get(i).permit}" for i in items if scope.get(i).permit]
    if permits:
        return _check("scope_permitted", title, FAILED, "；".join(permits) + "，需要工作人员审核")
    return _check("scope_permitted", title, PASSED, f"经营范围：{'、'.join(items)}")


# --- 4. the address ----------------------------------------------------------------------------


def address_in_region(address_region: str | None, matter_region: str, known: bool | None) -> Check:
    """The business premises lie in the registering authority's region (or a town, street or
    village below it): a 西湖区 bureau registers 西湖区 businesses only.

    ``known``: whether the region tree holds the code (None when the code is malformed)."""
    title = "经营场所在登记机关辖区内"
    code = address_region or ""
    if not (len(code) == 12 and regions.is_code(code)):
        return _check("address_in_region", title, FAILED, "经营场所的行政区划代码应为有效的12位代码")
    if not regions.is_within(code, matter_region):
        return _check("address_in_region", title, FAILED, "经营场所不在本登记机关辖区内，请向所在地登记机关申请")
    if not known:
        return _check("address_in_region", title, UNDECIDED, "未能核实经营场所的行政区划，需要工作人员核对")
    return _check("address_in_region", title, PASSED, "经营场所位于本登记机关辖区内")


# --- 5. the credit record ----------------------------------------------------------------------


@dataclass(frozen=True)
class CreditFacts:
    """What the credit system answered about the applicant."""

    status: str  # clear | record | unavailable
    records: tuple[str, ...] = ()  # the kinds of record, in Chinese (失信被执行人...)


def no_disqualifying_record(facts: CreditFacts) -> Check:
    """A person on a disqualifying list (失信被执行人, 市场禁入...) may not be registered without an
    examiner; an unreachable credit system is never taken for a clean record."""
    title = "经营者无限制登记的信用记录"
    if facts.status == "clear":
        return _check("no_disqualifying_record", title, PASSED, "未发现限制登记的信用记录")
    if facts.status == "record":
        return _check("no_disqualifying_record", title, FAILED,
                      f"经营者存在{'、'.join(facts.records) or '限制登记的'}记录，需要工作人员审核")
    return _check("no_disqualifying_record", title, UNDECIDED, "信用信息系统暂时无法查询，转工作人员审核")


# --- 6. the license can be issued --------------------------------------------------------------


def license_issuable(seal_name: str | None) -> Check:
    """An instant approval ends with the business license in the wallet, sealed by the registering
    region's market-supervision seal; without a usable seal the hub cannot finish it alone."""
    title = "营业执照可即时签发"
    if seal_name:
        return _check("license_issuable", title, PASSED, f"营业执照将加盖“{seal_name}”")
    return _check("license_issuable", title, UNDECIDED, "登记机关的电子印章暂不可用，转工作人员办理")


# --- all of them -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalFacts:
    assurance: int
    real_name: str | None
    form: dict
    matter_region: str
    region_path: list[str]  # names from the province down to the matter's region
    address_region_known: bool | None
    credit: CreditFacts
    registry: NameRegistryFacts
    seal_name: str | None  # the market-supervision seal the license would carry, if one is usable


def evaluate(facts: ApprovalFacts, scope: ScopeList | None = None) -> list[Check]:
    """Every rule, in the order the citizen reads them."""
    scope = scope or scope_list()
    form = facts.form
    items = [i for i in form.get("business_scope") or [] if isinstance(i, str)]
    return [
        applicant_verified(facts.assurance),
        operator_is_applicant(form.get("operator_name"), facts.real_name),
        name_well_formed(form.get("business_name") or "", facts.region_path, items, scope),
        name_available(facts.registry),
        scope_permitted(items, scope),
        address_in_region(form.get("address_region_code"), facts.matter_region, facts.address_region_known),
        no_disqualifying_record(facts.credit),
        license_issuable(facts.seal_name),
    ]


def approvable(checks: list[Check]) -> bool:
    """Approved at once only when every rule passed: a failed or undecided one means an examiner."""
    return bool(checks) and all(c.passed for c in checks)


def summary(checks: list[Check]) -> str:
    """One sentence for the citizen."""
    if approvable(checks):
        return f"已通过全部{len(checks)}项自动审查，即时办结"
    open_ones = [c.title for c in checks if not c.passed]
    return f"{len(open_ones)}项需人工审核（{'；'.join(open_ones)}），已转登记机关办理"


# --- the unified social credit code (统一社会信用代码, GB 32100) ---------------------------------

REGISTRATION_AUTHORITY = "9"  # 工商 (market regulation)
SOLE_PROPRIETOR_TYPE = "2"    # 个体工商户
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)  # GB 11714 organisation-code check weights
_SERIAL_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the characters GB 32100 allows
_SERIAL_PREFIX = "MA"  # organisation codes assigned by market regulation under GB 32100
SERIAL_SPACE = len(_SERIAL_ALPHABET) ** 6


def organisation_check_char(body: str) -> str:
    """The 9th character of a GB 11714 organisation code: 11 - (Σ value×weight mod 11), where a
    letter is worth 10 (A) to 35 (Z); 10 is written X and 11 is written 0."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return "X" if value == 10 else "0" if value == 11 else str(value)


def organisation_code(serial: int) -> str:
    """``MA`` + six characters of ``serial`` + the GB 11714 check character (nine characters)."""
    if not 0 <= serial < SERIAL_SPACE:
        raise ValueError(f"serial {serial} out of range")
    chars = []
    for _ in range(6):
        serial, rest = divmod(serial, len(_SERIAL_ALPHABET))
        chars.append(_SERIAL_ALPHABET[rest])
    body = _SERIAL_PREFIX + "".join(reversed(chars))
    return body + organisation_check_char(body)


def credit_code(region6: str, serial: int) -> str:
    """Authority 9 + type 2 + the registering region's six digits + the organisation code + the
    GB 32100 check character, validated whole by ``stdnum.cn.uscc``."""
    if not (len(region6) == 6 and region6.isdigit()):
        raise ValueError(f"region {region6!r} is not six digits")
    first17 = REGISTRATION_AUTHORITY + SOLE_PROPRIETOR_TYPE + region6 + organisation_code(serial)
    return uscc.validate(first17 + uscc.calc_check_digit(first17))
