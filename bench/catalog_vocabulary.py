"""Words of a synthetic national catalog: real service stems, their actions and qualifiers.

Each subject is a real thing citizens and companies apply about (住房公积金, 不动产, 食品经营许可证...),
with the department kind that handles it, its matter kind, audiences, life events and the actions
local catalogs list for it. ``catalog_names`` combines them with qualifiers into ~2,000 distinct
catalog names, the way local catalogs split one service into variants (「提取（购房）」「提取（租房）」).
"""
from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Subject:
    name: str
    department: str  # department kind: the code is "<region6>-<department>"
    kind: str
    audience: str  # i individuals, l legal persons, b both
    life_events: tuple[str, ...]
    actions: tuple[str, ...]
    license_type: str | None = None  # the e-license a citizen shows for it


LIC, CONF, PAY, PUB = "administrative_licensing", "administrative_confirmation", "administrative_payment", "public_service"

SUBJECTS = [
    Subject("住房公积金", "housing_fund", PAY, "i", ("housing",), ("提取", "缴存登记", "贷款申请", "缴存基数调整", "个人账户转移", "个人账户封存", "缴存证明打印", "贷款提前还款")),
    Subject("单位住房公积金", "housing_fund", PUB, "l", ("company_opening",), ("缴存登记", "汇缴", "补缴", "缓缴申请", "信息变更")),
    Subject("社会保障卡", "human_resources_social_security", PUB, "i", ("employment",), ("申领", "补领", "换领", "挂失", "启用", "信息变更", "注销"), "social_security_card"),
    Subject("基本养老保险", "human_resources_social_security", PUB, "b", ("retirement", "employment"), ("参保登记", "关系转移接续", "待遇申领", "缴费基数申报", "个人权益记录查询", "视同缴费年限认定")),
    Subject("城乡居民养老保险", "human_resources_social_security", PAY, "i", ("retirement",), ("参保登记", "待遇申领", "缴费档次变更", "注销登记")),
    Subject("基本医疗保险", "medical_security", PUB, "b", ("medical",), ("参保登记", "关系转移接续", "费用报销", "门诊慢特病待遇认定", "缴费信息查询", "参保凭证打印")),
    Subject("异地就医", "medical_security", PUB, "i", ("medical", "moving"), ("备案", "备案变更", "备案取消", "直接结算", "费用手工报销")),
    Subject("失业保险", "human_resources_social_security", PAY, "i", ("employment",), ("金申领", "稳岗返还", "技能提升补贴申领", "关系转移接续")),
    Subject("工伤保险", "human_resources_social_security", CONF, "b", ("employment",), ("认定申请", "待遇核定", "劳动能力鉴定", "待遇支付")),
    Subject("生育保险", "medical_security", PAY, "i", ("newborn",), ("待遇核准", "生育津贴申领", "医疗费用报销")),
    Subject("居民身份证", "public_security", CONF, "i", ("moving",), ("申领", "换领", "补领", "临时身份证办理", "挂失申报", "异地受理"), "resident_id_card"),
    Subject("户口", "public_security", CONF, "i", ("moving", "newborn", "marriage"), ("迁移", "迁入", "迁出", "出生登记", "死亡注销", "项目变更更正", "投靠迁入"), "household_register"),
    Subject("居住证", "public_security", CONF, "i", ("moving",), ("申领", "签注", "换领", "补领")),
    Subject("机动车驾驶证", "public_security", LIC, "i", (), ("换证", "补证", "审验", "延期换证", "注销", "增驾申请", "转入换证")),
    Subject("机动车", "public_security", CONF, "i", (), ("注册登记", "转移登记", "抵押登记", "检验合格标志核发", "变更登记", "临时号牌核发")),
    Subject("个体工商户", "market_supervision", CONF, "i", ("company_opening", "company_closing"), ("设立登记", "变更登记", "注销登记", "年度报告", "歇业备案")),
    Subject("企业", "market_supervision", CONF, "l", ("company_opening", "company_closing"), ("设立登记", "变更登记", "注销登记", "名称自主申报", "年度报告", "简易注销", "迁移登记"), "business_license"),
    Subject("农民专业合作社", "market_supervision", CONF, "l", ("company_opening",), ("设立登记", "变更登记", "注销登记")),
    Subject("食品经营许可证", "market_supervision", LIC, "l", ("company_opening",), ("核发", "变更", "延续", "注销", "补发")),
    Subject("药品经营许可证", "market_supervision", LIC, "l", (), ("核发", "变更", "换发", "注销")),
    Subject("医疗器械经营", "market_supervision", LIC, "l", (), ("许可", "备案", "许可变更", "许可延续")),
    Subject("营业执照", "market_supervision", CONF, "l", ("company_opening",), ("遗失补领", "换发", "电子营业执照下载"), "business_license"),
    Subject("不动产", "natural_resources", CONF, "b", ("housing",), ("首次登记", "转移登记", "变更登记", "抵押登记", "注销登记", "预告登记", "登记资料查询", "更正登记"), "real_estate_certificate"),
    Subject("建设工程规划许可证", "natural_resources", LIC, "l", (), ("核发", "变更", "延续")),
    Subject("建筑工程施工许可证", "housing_construction", LIC, "l", (), ("核发", "变更", "延期")),
    Subject("商品房", "housing_construction", CONF, "b", ("housing",), ("预售许可", "买卖合同备案", "交易资金监管")),
    Subject("公共租赁住房", "housing_construction", PUB, "i", ("housing",), ("申请", "资格复核", "租赁补贴申领", "退出")),
    Subject("婚姻登记", "civil_affairs", CONF, "i", ("marriage",), ("预约", "（结婚）", "（离婚）", "证补领", "撤销"), "marriage_certificate"),
    Subject("出生医学证明", "health", CONF, "i", ("newborn",), ("签发", "补发", "换发", "信息查询"), "birth_medical_certificate"),
    Subject("预防接种证", "health", PUB, "i", ("newborn",), ("办理", "补办", "查验")),
    Subject("医师执业", "health", LIC, "i", (), ("注册", "变更注册", "多机构备案")),
    Subject("护士执业", "health", LIC, "i", (), ("注册", "延续注册", "变更注册")),
    Subject("普通护照", "exit_entry", LIC, "i", (), ("签发", "换发", "补发", "加注")),
    Subject("往来港澳通行证", "exit_entry", LIC, "i", (), ("签发", "换发", "补发", "再次签注")),
    Subject("往来台湾通行证", "exit_entry", LIC, "i", (), ("签发", "换发", "签注")),
    Subject("留学人员", "education", PUB, "i", ("employment",), ("回国证明", "国外学历学位认证", "落户", "创业支持申请")),
    Subject("教师资格", "education", CONF, "i", ("employment",), ("认定", "证书补发", "证书换发")),
    Subject("义务教育", "education", PUB, "i", ("newborn", "moving"), ("入学报名", "转学", "学籍查询")),
    Subject("就业创业证", "human_resources_social_security", PUB, "i", ("employment",), ("申领", "补领", "信息变更")),
    Subject("就业", "human_resources_social_security", PUB, "i", ("employment",), ("登记", "失业登记", "困难人员认定", "见习补贴申领", "创业担保贷款申请")),
    Subject("职业技能等级", "human_resources_social_security", CONF, "i", ("employment",), ("认定", "证书查询", "补贴申领")),
    Subject("纳税人", "tax", CONF, "b", ("company_opening",), ("信息确认", "发票领用", "增值税申报", "注销税务登记", "完税证明开具")),
    Subject("个人所得税", "tax", PUB, "i", ("employment",), ("综合所得汇算清缴", "专项附加扣除填报", "纳税记录开具")),
    Subject("最低生活保障", "civil_affairs", PAY, "i", (), ("申请", "审核确认", "待遇变更", "停发")),
    Subject("特困人员", "civil_affairs", PAY, "i", (), ("救助供养申请", "认定", "终止")),
    Subject("高龄津贴", "civil_affairs", PAY, "i", ("retirement",), ("申领", "发放查询")),
    Subject("残疾人证", "disabled_persons", CONF, "i", (), ("核发", "换领", "迁移", "补办")),
    Subject("残疾人两项补贴", "civil_affairs", PAY, "i", (), ("申请", "资格认定")),
    Subject("退役军人", "veterans_affairs", PUB, "i", ("employment",), ("优待证申领", "安置", "档案转接")),
    Subject("惠民殡葬", "civil_affairs", PAY, "i", (), ("补贴申领", "服务预约")),
    Subject("法律援助", "justice", PUB, "i", (), ("申请", "咨询预约")),
    Subject("无犯罪记录", "public_security", CONF, "i", ("employment",), ("证明开具", "证明核验")),
    Subject("道路运输经营", "transport", LIC, "l", (), ("许可", "许可变更", "许可注销")),
    Subject("排污许可证", "ecology_environment", LIC, "l", (), ("核发", "变更", "延续", "重新申请")),
    Subject("取水许可", "water_resources", LIC, "l", (), ("审批", "变更", "延续")),
    Subject("烟草专卖零售许可证", "tobacco", LIC, "b", ("company_opening",), ("新办", "延续", "变更", "停业", "歇业")),
    Subject("户外广告设施", "urban_management", LIC, "l", (), ("设置审批", "设置延期")),
    Subject("城镇污水排入排水管网", "housing_construction", LIC, "l", (), ("许可", "许可变更")),
    Subject("人才引进", "human_resources_social_security", PUB, "i", ("employment", "moving"), ("落户", "认定", "住房补贴申领")),
    Subject("档案", "human_resources_social_security", PUB, "i", ("employment",), ("查询", "转递", "托管")),
]

QUALIFIERS = ["", "（个人）", "（单位）", "（购房）", "（租房）", "（退休）", "（离职）", "（偿还贷款）", "（首次申领）",
              "（补办）", "（跨省）", "（省内）", "（港澳台居民）", "（外籍人员）", "（本市户籍）", "（非本市户籍）",
              "（线上）", "（窗口）", "（一件事）", "（秒批）", "（告知承诺制）", "（容缺受理）", "（简易程序）",
              "（加急）", "（代办）", "（委托）", "（变更）", "（延续）", "（失业人员）", "（灵活就业人员）"]

MATERIALS = [("居民身份证", "resident_id_card"), ("户口簿", "household_register"), ("营业执照", "business_license"),
             ("社会保障卡", "social_security_card"), ("不动产权证书", "real_estate_certificate"),
             ("结婚证", "marriage_certificate"), ("出生医学证明", "birth_medical_certificate"),
             ("申请表", None), ("委托书", None), ("近期免冠照片", None), ("相关证明材料", None)]


@dataclass(frozen=True)
class CatalogEntry:
    code: str
    name: str
    subject: Subject
    hotness: int  # rank: 1 is the most used catalog item in the country


def catalog_names(count: int = 2000, seed: int = 7) -> list[CatalogEntry]:
    """``count`` distinct names of subject + action (+ qualifier), base names first, hottest first."""
    rnd = random.Random(seed)
    bases = [(s, s.name + a) for s in SUBJECTS for a in s.actions]
    variants = [(s, base + q) for s, base in bases for q in QUALIFIERS[1:]]
    rnd.shuffle(variants)
    chosen = bases + variants[:max(0, count - len(bases))]
    order = list(range(len(chosen)))
    rnd.shuffle(order)  # hotness independent of position, but base names tend to be hotter
    order.sort(key=lambda i: (i >= len(bases)) * rnd.random())
    return [CatalogEntry(code=f"CAT-{n + 1:05d}", name=chosen[i][1], subject=chosen[i][0], hotness=n + 1)
            for n, i in enumerate(order)]
