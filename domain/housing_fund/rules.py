"""Housing provident fund (住房公积金) rules: who may withdraw, how much, and what a payout may do.

Pure decisions over plain values, no I/O. Each withdrawal kind is a list of named rules; every rule
answers one question with a ``Check`` whose message is plain Chinese, written for the citizen who
reads it rule by rule before scanning their face. The figures follow the national rules
(《住房公积金管理条例》第二十四条) with limits of the kind centres publish; a real centre sets its own.

- renting 租房: account normal, 3 months of deposits, at most 1,500 yuan a month (3,000 with a
  rental contract uploaded);
- buying 购房: account normal, 6 months of deposits, the real-estate certificate (e-license) — and the
  marriage certificate when the home is the spouse's — bought within a year, up to the price, once a year;
- loan repayment 偿还住房贷款: account normal, 6 months of deposits, the real-estate certificate, up to
  what was repaid this year;
- retirement 离退休: legal retirement age (60 for men, 55 for women here), the whole balance;
- leaving 离职/离开工作地: account sealed (封存) for 6 months, the whole balance;
- serious illness 重大疾病: a diagnosis (uploaded; a person reviews it), up to the year's medical costs.

Every kind is also bounded by the balance less what is already in flight.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date

from stdnum import luhn

# --- kinds and accounts --------------------------------------------------------------------

RENTING, BUYING, LOAN_REPAYMENT, RETIREMENT, LEAVING, ILLNESS = (
    "renting", "buying", "loan_repayment", "retirement", "leaving", "illness")
KINDS = (RENTING, BUYING, LOAN_REPAYMENT, RETIREMENT, LEAVING, ILLNESS)
KIND_NAMES = {RENTING: "租房提取", BUYING: "购房提取", LOAN_REPAYMENT: "偿还住房贷款提取",
              RETIREMENT: "离退休提取", LEAVING: "离职提取（离开缴存地）", ILLNESS: "重大疾病提取"}
# the catalog item of each kind (the matters the fund centres offer: matters.py)
CATALOG_CODES = {RENTING: "HF-RENT", BUYING: "HF-BUY", LOAN_REPAYMENT: "HF-LOAN", RETIREMENT: "HF-RETIRE",
                 LEAVING: "HF-LEAVE", ILLNESS: "HF-ILLNESS"}

NORMAL, SEALED, CLOSED = "normal", "sealed", "closed"  # 正常 / 封存 / 销户
ACCOUNT_STATUS_NAMES = {NORMAL: "正常缴存", SEALED: "封存", CLOSED: "已销户"}

CENTRE_KIND = "housing_fund"  # department code of a centre: <region6>-housing_fund

MONTHS_FOR_RENTING = 3
MONTHS_FOR_HOME = 6  # buying and loan repayment
SEALED_MONTHS_FOR_LEAVING = 6
RETIREMENT_AGE = {"M": 60, "F": 55}
RENT_CAP_FEN = 150_000  # 1,500 yuan a month without a rental contract
RENT_CAP_WITH_CONTRACT_FEN = 300_000  # 3,000 yuan a month with one
PURCHASE_WINDOW_DAYS = 365
MIN_AMOUNT_FEN = 100  # one yuan
# Every money figure a citizen gives (the amount, a home's price, what was repaid, medical costs) is
# at most this: far above any real one, and far below what the store holds — a BIGINT, and the
# quota arithmetic on it (``cap - amount``) — so a figure like 2**64 is refused at the start
# instead of passing the rules and failing at submission (issue #12 item 6).
MAX_FIGURE_FEN = 100_000_000_000  # 1,000,000,000 yuan
FIGURE_FIELDS = ("price_fen", "repaid_this_year_fen", "medical_cost_fen")  # in ``details``

# what a kind asks for: (material name, e-license type or None for an upload, required)
RENTAL_CONTRACT, DIAGNOSIS = "租赁合同", "重大疾病诊断证明"
REAL_ESTATE, MARRIAGE = "不动产权证书", "结婚证"
MATERIALS: dict[str, list[tuple[str, str | None, bool]]] = {
    RENTING: [(RENTAL_CONTRACT, None, False)],
    BUYING: [(REAL_ESTATE, "real_estate_certificate", True), (MARRIAGE, "marriage_certificate", False)],
    LOAN_REPAYMENT: [(REAL_ESTATE, "real_estate_certificate", True), (MARRIAGE, "marriage_certificate", False)],
    RETIREMENT: [],
    LEAVING: [],
    ILLNESS: [(DIAGNOSIS, None, True)],
}


def is_centre(department_code: str) -> bool:
    return isinstance(department_code, str) and department_code.endswith("-" + CENTRE_KIND)


def centre_of_region(region_code: str) -> str:
    return f"{region_code[:6]}-{CENTRE_KIND}"


@dataclass(frozen=True)
class DepositMonth:
    month: str  # YYYY-MM
    amount_fen: int


@dataclass(frozen=True)
class Account:
    """A fund account as its centre reports it (the centre is the source of truth)."""

    centre_code: str
    centre_name: str
    account_no: str
    status: str  # normal | sealed | closed
    balance_fen: int
    monthly_deposit_fen: int
    deposit_months: int  # consecutive months deposited, up to the last month
    opened_on: date
    sealed_on: date | None = None
    employer: str | None = None
    history: tuple[DepositMonth, ...] = ()


@dataclass(frozen=True)
class Applicant:
    birth_date: date
    sex: str  # M | F


def applicant_of(id_number: str) -> Applicant:
    """Birth date and sex as the 18-digit ID number carries them (GB 11643: the 17th digit is odd
    for men)."""
    born = date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    return Applicant(birth_date=born, sex="M" if int(id_number[16]) % 2 else "F")


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` to ``end`` (0 if end is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)
    return max(months, 0)


# --- what the citizen gives ------------------------------------------------------------------


def figure_problems(amount_fen: object, details: dict) -> list[dict[str, str]]:
    """Field errors for money figures that are not a whole number of fen from 1 to
    ``MAX_FIGURE_FEN`` (``amount_fen`` may be None: only asking; a detail may be absent)."""
    given = [("amount_fen", amount_fen)] + [(f"details.{name}", details.get(name)) for name in FIGURE_FIELDS]
    message = f"应为1到{MAX_FIGURE_FEN:,}之间的整数（单位：分）"
    return [{"field": field, "message": message} for field, value in given
            if value is not None and not _figure_in_range(value)]


def _figure_in_range(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_FIGURE_FEN


@dataclass(frozen=True)
class Request:
    """A withdrawal as the rules see it. ``licenses``: e-license types the citizen named (held and
    valid); ``uploads``: material names satisfied by uploaded files."""

    kind: str
    amount_fen: int | None = None  # None: only asking whether and how much
    licenses: frozenset[str] = frozenset()
    uploads: frozenset[str] = frozenset()
    home_owner: str = "self"  # buying / loan repayment: self | spouse
    purchased_on: date | None = None  # buying
    price_fen: int | None = None  # buying
    repaid_this_year_fen: int | None = None  # loan repayment
    medical_cost_fen: int | None = None  # illness


@dataclass(frozen=True)
class Usage:
    """What is already taken: ``period_used_fen`` in this kind's period (paid or in flight) and
    ``in_flight_fen`` of the whole balance (requested, not yet paid or failed)."""

    period_used_fen: int = 0
    in_flight_fen: int = 0


@dataclass(frozen=True)
class Check:
    rule: str  # stable identifier
    title: str  # what the rule asks
    passed: bool
    message: str  # why, in plain Chinese

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Limit:
    period: str  # month | year | account
    period_key: str  # e.g. renting:2026-11 — what the per-period quota row is keyed by
    cap_fen: int  # the kind's cap for the period, before what is used
    available_fen: int  # what may still be withdrawn now (cap less usage, balance less in flight)
    basis: str  # how the cap was set, in Chinese


@dataclass(frozen=True)
class Eligibility:
    kind: str
    eligible: bool
    checks: list[Check]
    limit: Limit
    materials: list[dict] = field(default_factory=list)
    needs_review: bool = False  # a person at the centre looks at an uploaded document

    @property
    def rule_clear(self) -> bool:
        """Every rule passed and nothing needs a person: the centre approves at once."""
        return self.eligible and not self.needs_review


def _yuan(fen: int) -> str:
    return f"{fen / 100:,.2f}元"


# --- the rules, one question each ------------------------------------------------------------


def account_open(account: Account, allowed: tuple[str, ...]) -> Check:
    names = "、".join(ACCOUNT_STATUS_NAMES[s] for s in allowed)
    title = f"账户状态为{names}"
    now = ACCOUNT_STATUS_NAMES.get(account.status, account.status)
    if account.status in allowed:
        return Check("account_status", title, True, f"账户状态为“{now}”")
    return Check("account_status", title, False, f"该提取类型要求账户状态为{names}，您的账户当前为“{now}”")


def deposited_long_enough(account: Account, months: int) -> Check:
    title = f"连续缴存满{months}个月"
    if account.deposit_months >= months:
        return Check("deposit_months", title, True, f"已连续缴存{account.deposit_months}个月")
    return Check("deposit_months", title, False,
                 f"需连续足额缴存满{months}个月，您目前连续缴存{account.deposit_months}个月")


def sealed_long_enough(account: Account, today: date) -> Check:
    title = f"账户封存满{SEALED_MONTHS_FOR_LEAVING}个月"
    if account.status != SEALED or account.sealed_on is None:
        return Check("sealed_months", title, False, "离职提取要求账户已封存（与单位解除劳动关系后由单位办理封存）")
    months = months_between(account.sealed_on, today)
    if months >= SEALED_MONTHS_FOR_LEAVING:
        return Check("sealed_months", title, True, f"账户已于{account.sealed_on}封存，满{months}个月")
    return Check("sealed_months", title, False,
                 f"账户于{account.sealed_on}封存，封存满{SEALED_MONTHS_FOR_LEAVING}个月后方可提取（现{months}个月）")


def retirement_age_reached(applicant: Applicant, today: date) -> Check:
    need = RETIREMENT_AGE[applicant.sex]
    age = age_on(applicant.birth_date, today)
    title = f"达到法定退休年龄（{'男' if applicant.sex == 'M' else '女'}{need}周岁）"
    if age >= need:
        return Check("retirement_age", title, True, f"您已年满{age}周岁")
    return Check("retirement_age", title, False, f"您现年{age}周岁，年满{need}周岁方可办理离退休提取")


def material_given(request: Request, name: str, license_type: str | None) -> Check:
    given = license_type in request.licenses if license_type else name in request.uploads
    how = "电子证照" if license_type else "上传文件"
    if given:
        return Check(f"material:{name}", f"提供{name}", True, f"已提供{name}（{how}）")
    where = "请从电子证照夹选择" if license_type else "请上传"
    return Check(f"material:{name}", f"提供{name}", False, f"缺少{name}，{where}")


def purchase_recent(request: Request, today: date) -> Check:
    title = "购房时间在一年以内"
    if request.purchased_on is None:
        return Check("purchase_recent", title, False, "请填写购房日期（不动产权证书登记日期）")
    days = (today - request.purchased_on).days
    if 0 <= days <= PURCHASE_WINDOW_DAYS:
        return Check("purchase_recent", title, True, f"购房日期{request.purchased_on}，在一年以内")
    return Check("purchase_recent", title, False, f"购房日期{request.purchased_on}，不在一年以内，不能办理购房提取")


def figure_given(value: int | None, rule: str, title: str) -> Check:
    if isinstance(value, int) and value > 0:
        return Check(rule, title, True, f"{title}：{_yuan(value)}")
    return Check(rule, title, False, f"请填写{title}")


def amount_within(amount_fen: int | None, limit: Limit) -> Check:
    title = "提取金额不超过可提取额度"
    if amount_fen is None:
        return Check("amount_within_limit", title, True, f"本次最多可提取{_yuan(limit.available_fen)}")
    if amount_fen < MIN_AMOUNT_FEN:
        return Check("amount_within_limit", title, False, f"提取金额至少{_yuan(MIN_AMOUNT_FEN)}")
    if amount_fen <= limit.available_fen:
        return Check("amount_within_limit", title, True,
                     f"提取{_yuan(amount_fen)}，不超过可提取额度{_yuan(limit.available_fen)}")
    return Check("amount_within_limit", title, False,
                 f"提取{_yuan(amount_fen)}超过可提取额度{_yuan(limit.available_fen)}（{limit.basis}）")


# --- limits ----------------------------------------------------------------------------------


def limit_for(kind: str, account: Account, request: Request, today: date, usage: Usage) -> Limit:
    """The cap of ``kind`` for its period, and what remains of it and of the balance."""
    month, year = f"{today:%Y-%m}", f"{today:%Y}"
    if kind == RENTING:
        with_contract = RENTAL_CONTRACT in request.uploads
        cap = RENT_CAP_WITH_CONTRACT_FEN if with_contract else RENT_CAP_FEN
        basis = f"租房提取每月最多{_yuan(cap)}" + ("（已提供租赁合同）" if with_contract else "（未提供租赁合同）")
        period, key = "month", f"{kind}:{month}"
    elif kind == BUYING:
        cap, basis, period, key = request.price_fen or 0, "不超过购房总价", "year", f"{kind}:{year}"
    elif kind == LOAN_REPAYMENT:
        cap, basis = request.repaid_this_year_fen or 0, "不超过本年度已偿还的贷款本息"
        period, key = "year", f"{kind}:{year}"
    elif kind == ILLNESS:
        cap, basis = request.medical_cost_fen or 0, "不超过本年度个人负担的医疗费用"
        period, key = "year", f"{kind}:{year}"
    else:  # retirement, leaving: the whole balance, once
        cap, basis, period, key = account.balance_fen, "可提取全部余额", "account", f"{kind}:all"
    spendable = max(account.balance_fen - usage.in_flight_fen, 0)
    available = max(min(cap - usage.period_used_fen, spendable), 0)
    if available < cap - usage.period_used_fen:
        basis += f"；账户余额{_yuan(account.balance_fen)}，办理中{_yuan(usage.in_flight_fen)}"
    return Limit(period=period, period_key=key, cap_fen=cap, available_fen=available, basis=basis)


# --- eligibility, kind by kind ---------------------------------------------------------------


def evaluate(kind: str, *, account: Account, applicant: Applicant, request: Request, today: date,
             usage: Usage = Usage()) -> Eligibility:
    """Every rule of ``kind`` for this account and request, and the limit left."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    limit = limit_for(kind, account, request, today, usage)
    checks = [*_kind_checks(kind, account, applicant, request, today), amount_within(request.amount_fen, limit)]
    if limit.available_fen <= 0 and request.amount_fen is None:
        checks[-1] = Check("amount_within_limit", "提取金额不超过可提取额度", False,
                           f"本期可提取额度已用完（{limit.basis}）")
    materials = [{"name": n, "license_type": t, "required": r} for n, t, r in MATERIALS[kind]]
    return Eligibility(kind=kind, eligible=all(c.passed for c in checks), checks=checks, limit=limit,
                       materials=materials, needs_review=kind == ILLNESS)


def _kind_checks(kind: str, account: Account, applicant: Applicant, request: Request, today: date) -> list[Check]:
    if kind == RENTING:
        return [account_open(account, (NORMAL,)), deposited_long_enough(account, MONTHS_FOR_RENTING)]
    if kind in (BUYING, LOAN_REPAYMENT):
        checks = [account_open(account, (NORMAL,)), deposited_long_enough(account, MONTHS_FOR_HOME),
                  material_given(request, REAL_ESTATE, "real_estate_certificate")]
        if request.home_owner == "spouse":  # the spouse's home: the marriage shows it is the family's
            checks.append(material_given(request, MARRIAGE, "marriage_certificate"))
        if kind == BUYING:
            checks += [purchase_recent(request, today), figure_given(request.price_fen, "price", "购房总价")]
        else:
            checks.append(figure_given(request.repaid_this_year_fen, "repaid", "本年度已偿还贷款本息"))
        return checks
    if kind == RETIREMENT:
        return [account_open(account, (NORMAL, SEALED)), retirement_age_reached(applicant, today)]
    if kind == LEAVING:
        return [account_open(account, (SEALED,)), sealed_long_enough(account, today)]
    return [account_open(account, (NORMAL, SEALED)), material_given(request, DIAGNOSIS, None),
            figure_given(request.medical_cost_fen, "medical_cost", "本年度个人负担的医疗费用")]


# --- bank cards ------------------------------------------------------------------------------


def valid_card_number(card_no: str) -> bool:
    """16 to 19 digits with a valid Luhn check digit (every debit card of a Chinese bank)."""
    return isinstance(card_no, str) and card_no.isdigit() and 16 <= len(card_no) <= 19 and luhn.is_valid(card_no)


def mask_card(card_no: str) -> str:
    return f"{card_no[:4]} **** **** {card_no[-4:]}"


# --- withdrawals and their payout ------------------------------------------------------------

AWAITING_FACE, REQUESTED, PAID, FAILED, RETURNED = "awaiting_face", "requested", "paid", "failed", "returned"
STATUS_NAMES = {AWAITING_FACE: "待人脸核验", REQUESTED: "已申请，待到账", PAID: "已到账",
                FAILED: "提取失败", RETURNED: "银行退回"}
PAYOUT_EVENTS = (PAID, FAILED, RETURNED)
FINAL = frozenset({PAID, FAILED, RETURNED})
FACE_FRESH_SECONDS = 300  # the face scan that authorises a withdrawal: at most five minutes old
DRAFT_TTL_SECONDS = 1800  # a withdrawal never submitted stops accepting a face scan after this

APPLY, STALE = "applied", "stale"


def payout_verdict(status: str, event: str) -> str:
    """A centre's payout event: applied only to a requested payout. A final payout (paid, failed,
    returned) never changes again: a late, replayed or contradicting event is recorded, not applied."""
    if event not in PAYOUT_EVENTS:
        raise ValueError(f"unknown payout event {event!r}")
    return APPLY if status == REQUESTED else STALE


def releases(event: str) -> tuple[bool, bool]:
    """What a payout outcome gives back: (the period quota, the in-flight share of the balance).
    Paid money stays counted in its period; a failed or returned payout never left the account."""
    return (event != PAID, True)
