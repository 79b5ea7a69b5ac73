"""What the department stub's data services know (adapters/departments/stub/data_services.py):
demo people and companies, and the deterministic records of everyone else.

**The data** is deterministic: a few demo people and companies from ``DEMO_PEOPLE`` /
``DEMO_COMPANIES`` (the suite's test citizens among them), anyone else generated from a hash of the
number — the same person has the same name in every service. The public security bureau holds the
Beijing household registrations (ID numbers of Beijing's codes, ``11…``), the market regulator
entities it registered (authority ``9``, a Beijing region code); anything else valid is 404
``{"code": "not_found"}`` (``Refused``). No answer ever carries a full ID number: only
``id_number_masked`` (first and last character). Social insurance: data_insurance.py.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from stdnum.cn import ric

from domain.housing_fund.rules import age_on
from domain.licenses.guardianship import sex_of

# the 404 answers, also the published 404s of the services' OpenAPI documents
NO_HOUSEHOLD = "本市无此人户籍登记"
NO_ENTITY = "本市无此市场主体登记"

# --- Beijing: districts, streets and their police stations ----------------------------------

# region code -> (district, the police sub-bureau's short name, streets (街道/地区))
DISTRICTS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "110101": ("东城区", "东城", ("东华门", "景山", "交道口", "安定门", "北新桥", "东四", "朝阳门", "建国门", "和平里", "天坛")),
    "110102": ("西城区", "西城", ("西长安街", "新街口", "月坛", "展览路", "德胜", "金融街", "什刹海", "广安门内", "椿树", "白纸坊")),
    "110105": ("朝阳区", "朝阳", ("三里屯", "建外", "呼家楼", "八里庄", "望京", "酒仙桥", "亚运村", "潘家园", "双井", "劲松")),
    "110106": ("丰台区", "丰台", ("右安门", "太平桥", "西罗园", "大红门", "南苑", "东高地", "卢沟桥", "方庄", "新村", "马家堡")),
    "110107": ("石景山区", "石景山", ("八宝山", "老山", "八角", "古城", "苹果园", "金顶街", "鲁谷")),
    "110108": ("海淀区", "海淀", ("万寿路", "羊坊店", "甘家口", "紫竹院", "北下关", "中关村", "海淀", "学院路", "清河", "上地")),
    "110109": ("门头沟区", "门头沟", ("大峪", "城子", "东辛房", "龙泉")),
    "110111": ("房山区", "房山", ("城关", "拱辰", "西潞", "长阳", "良乡")),
    "110112": ("通州区", "通州", ("中仓", "新华", "北苑", "玉桥", "永顺", "梨园")),
    "110113": ("顺义区", "顺义", ("胜利", "光明", "石园", "空港", "双丰")),
    "110114": ("昌平区", "昌平", ("城北", "城南", "回龙观", "霍营", "天通苑北")),
    "110115": ("大兴区", "大兴", ("兴丰", "林校路", "清源", "观音寺", "天宫院", "亦庄")),
    "110116": ("怀柔区", "怀柔", ("泉河", "龙山")),
    "110117": ("平谷区", "平谷", ("滨河", "兴谷")),
    "110118": ("密云区", "密云", ("鼓楼", "果园")),
    "110119": ("延庆区", "延庆", ("儒林", "百泉", "香水园")),
}
# codes of districts and counties since merged or renamed, still in older ID numbers and codes
FORMER_DISTRICTS = {"110103": "110101", "110104": "110102", "110221": "110114", "110222": "110113",
                    "110223": "110112", "110224": "110115", "110226": "110117", "110227": "110116",
                    "110228": "110118", "110229": "110119"}
ROADS = ("幸福路", "光华路", "和平街", "安华路", "学院南路", "建设路", "文化路", "民主北街", "育新街", "兴华路",
         "新源里", "团结湖路", "永安路", "长青路", "东方路", "友谊路")
COMMUNITIES = ("幸福家园", "阳光小区", "和平里小区", "华远嘉园", "新华小区", "育新花园", "东方家园", "翠微小区",
               "怡然家园", "万科城市花园", "绿景苑", "金色家园")

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤"
GIVEN = {  # (sex, born before 1975) -> given names
    ("男", True): ("建国", "建华", "国庆", "志强", "志刚", "德明", "卫东", "振华", "永刚", "秀峰", "军", "勇", "强", "刚", "明", "平"),
    ("女", True): ("秀英", "桂英", "淑珍", "玉兰", "丽华", "秀兰", "凤英", "红梅", "海燕", "丽", "敏", "静", "芳", "霞", "娟", "燕"),
    ("男", False): ("浩然", "子轩", "宇航", "俊杰", "明轩", "天佑", "嘉豪", "文博", "晓东", "海涛",
                   "伟", "磊", "洋", "杰", "涛", "鹏", "超", "宇", "浩", "凯"),
    ("女", False): ("欣怡", "梓涵", "诗涵", "雨萱", "思彤", "子涵", "可馨", "雅琪", "晓燕",
                   "婷", "娜", "雪", "慧", "莹", "琳", "颖", "倩", "洁", "佳", "晶"),
}
MINORITIES = ("满族", "回族", "蒙古族", "朝鲜族", "土家族", "壮族")

# --- demo data --------------------------------------------------------------------------------

# Citizens by ID number (the suite's test identities among them: tests/support/citizens.py).
# "household": the Beijing household registration, "insurance": social insurance in Beijing;
# None: the department has no record of them. Sex and birth date always come from the number.
DEMO_PEOPLE: dict[str, dict[str, Any]] = {
    "110105199003070017": {  # alice
        "name": "张丽", "ethnicity": "汉族",
        "household": {"address": "北京市朝阳区三里屯街道幸福二村12号楼3单元501室", "head": None, "relation": "户主",
                      "registered_on": "1990-03-21", "police_station": "北京市公安局朝阳分局三里屯派出所"},
        "insurance": {"start": "2012-07", "end": None, "status": "正常参保", "wage": 8000},
    },
    "110101197501010047": {  # dave
        "name": "赵伟", "ethnicity": "汉族",
        "household": {"address": "北京市东城区东华门街道南池子大街28号", "head": "孙建国", "relation": "妻",
                      "registered_on": "1999-10-08", "police_station": "北京市公安局东城分局东华门派出所"},
        "insurance": {"start": "1996-07", "end": None, "status": "正常参保", "wage": 1500},
    },
    "110101201506180028": {  # dave's daughter: a household, no insurance
        "name": "孙悦", "ethnicity": "汉族",
        "household": {"address": "北京市东城区东华门街道南池子大街28号", "head": "孙建国", "relation": "长女",
                      "registered_on": "2015-07-02", "police_station": "北京市公安局东城分局东华门派出所"},
        "insurance": None,
    },
    "110102195803120011": {  # retired at 60
        "name": "刘建国", "ethnicity": "回族",
        "household": {"address": "北京市西城区德胜街道新康街6号院2号楼4门302号", "head": None, "relation": "户主",
                      "registered_on": "1958-03-25", "police_station": "北京市公安局西城分局德胜派出所"},
        "insurance": {"start": "1992-10", "end": "2018-03", "status": "已退休", "wage": 300},
    },
    "110106198807250031": {  # stopped paying
        "name": "周鹏", "ethnicity": "满族",
        "household": {"address": "北京市丰台区卢沟桥街道育新花园7号楼1单元1202室", "head": None, "relation": "户主",
                      "registered_on": "2016-05-11", "police_station": "北京市公安局丰台分局卢沟桥派出所"},
        "insurance": {"start": "2010-07", "end": "2025-06", "status": "暂停缴费", "wage": 4500},
    },
    "440305199511110051": {  # erin: household in Shenzhen, works in Beijing
        "name": "陈静", "ethnicity": "汉族", "household": None,
        "insurance": {"start": "2018-07", "end": None, "status": "正常参保", "wage": 12000},
    },
}

_TECH_SCOPE = ("技术开发、技术咨询、技术交流、技术转让、技术推广；软件开发；信息系统集成服务；数据处理和存储支持服务；"
               "计算机系统服务。（除依法须经批准的项目外，凭营业执照依法自主开展经营活动）")
_CATERING_SCOPE = ("餐饮管理；餐饮服务；食品销售。（依法须经批准的项目，经相关部门批准后依批准的内容开展经营活动）")
_TRADE_SCOPE = ("销售日用品、服装、鞋帽、电子产品、文具用品；货物进出口；技术进出口。（除依法须经批准的项目外，"
                "凭营业执照依法自主开展经营活动）")
_CONSULTING_SCOPE = ("企业管理咨询；经济贸易咨询；会议服务；市场调查；组织文化艺术交流活动。（除依法须经批准的项目外，"
                     "凭营业执照依法自主开展经营活动）")
_BUILDING_SCOPE = ("施工总承包；专业承包；建筑材料销售；工程管理服务。（依法须经批准的项目，经相关部门批准后依批准的内容"
                   "开展经营活动）")
_LOGISTICS_SCOPE = ("道路货物运输；普通货物仓储服务；国内货物运输代理；装卸搬运。（依法须经批准的项目，经相关部门批准后"
                    "依批准的内容开展经营活动）")
_SHOP_SCOPE = "餐饮服务；食品销售（仅销售预包装食品）。（依法须经批准的项目，经相关部门批准后依批准的内容开展经营活动）"
_FARM_SCOPE = ("组织收购、销售成员种植的农产品；为成员提供农业生产资料的购买；开展与农业生产经营有关的技术培训、技术交流"
               "和信息咨询服务。")
STATUS_ACTIVE = "存续（在营、开业、在册）"
STATUS_CANCELLED = "注销"
STATUS_REVOKED = "吊销，未注销"

# Entities by unified social credit code (fictitious; the codes pass GB 32100's check)
DEMO_COMPANIES: dict[str, dict[str, str]] = {
    "91110108MA0044EE3D": {"name": "北京青禾数据科技有限公司", "legal_representative": "林晓东",
                           "registered_capital": "1000万元人民币", "established_on": "2019-04-16",
                           "address": "北京市海淀区中关村大街27号11层1108", "business_scope": _TECH_SCOPE,
                           "status": STATUS_ACTIVE, "registration_authority": "北京市海淀区市场监督管理局"},
    "91110105592384764G": {"name": "北京朝晖餐饮管理有限公司", "legal_representative": "王建军",
                           "registered_capital": "100万元人民币", "established_on": "2012-03-08",
                           "address": "北京市朝阳区工体北路8号院3号楼1层102", "business_scope": _CATERING_SCOPE,
                           "status": STATUS_CANCELLED, "registration_authority": "北京市朝阳区市场监督管理局"},
    "92110105MA00MXU40D": {"name": "北京市朝阳区老张家面馆", "legal_representative": "张德福",  # 个体: 经营者
                           "registered_capital": "5万元人民币", "established_on": "2016-09-12",
                           "address": "北京市朝阳区劲松街道劲松南路3号楼底商", "business_scope": _SHOP_SCOPE,
                           "status": STATUS_ACTIVE, "registration_authority": "北京市朝阳区市场监督管理局"},
    "91110000101120343G": {"name": "北京燕京建工集团有限公司", "legal_representative": "李国栋",
                           "registered_capital": "50000万元人民币", "established_on": "1993-07-20",
                           "address": "北京市西城区三里河路22号", "business_scope": _BUILDING_SCOPE,
                           "status": STATUS_ACTIVE, "registration_authority": "北京市市场监督管理局"},
    "91110113MA00DDHJ7W": {"name": "北京顺航物流有限公司", "legal_representative": "马俊杰",
                           "registered_capital": "500万元人民币", "established_on": "2017-11-03",
                           "address": "北京市顺义区空港街道裕华路18号院2号楼", "business_scope": _LOGISTICS_SCOPE,
                           "status": STATUS_REVOKED, "registration_authority": "北京市顺义区市场监督管理局"},
}

TRADE_NAMES = ("华信", "瑞丰", "鼎盛", "恒通", "博远", "嘉禾", "启明", "安泰", "远航", "中和", "天成", "德润", "弘毅",
               "汇通", "睿思", "青云", "宏图", "金桥", "新程", "永泰")
INDUSTRIES = (("科技", _TECH_SCOPE), ("商贸", _TRADE_SCOPE), ("餐饮管理", _CATERING_SCOPE),
              ("企业管理咨询", _CONSULTING_SCOPE), ("建筑工程", _BUILDING_SCOPE), ("物流", _LOGISTICS_SCOPE))
SHOPS = ("便利店", "小吃店", "面馆", "水果店", "五金店")
CAPITALS = (10, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000)  # 万元


# --- deterministic data ----------------------------------------------------------------------


class Draw:
    """Choices that depend only on a key (an ID number, a credit code) and a label."""

    def __init__(self, key: str) -> None:
        self.key = key

    def number(self, label: str, n: int) -> int:
        return int.from_bytes(hashlib.sha256(f"{self.key}|{label}".encode()).digest()[:8], "big") % n

    def pick(self, label: str, options):
        return options[self.number(label, len(options))]

    def between(self, label: str, low: int, high: int) -> int:
        return low + self.number(label, high - low + 1)

    def chance(self, label: str, percent: int) -> bool:
        return self.number(label, 100) < percent


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def mask_id_number(number: str) -> str:
    """First and last character only: with the birth date beside it, more would give the number away.
    (Not domain.shared.values.mask_id_number, which keeps region and last four: the published
    ``id_number_masked`` pattern is ``^[0-9]\\*{16}[0-9X]$``.)"""
    return number[0] + "*" * (len(number) - 2) + number[-1]


def _district(code6: str, draw: Draw) -> str:
    """A Beijing district's region code for a code in a number (a former code maps to today's)."""
    code6 = FORMER_DISTRICTS.get(code6, code6)
    return code6 if code6 in DISTRICTS else draw.pick("district", sorted(DISTRICTS))


def _name(draw: Draw, sex: str, born: int, surname: str | None = None) -> str:
    surname = surname or draw.pick("surname", SURNAMES)
    return surname + draw.pick("given", GIVEN[(sex, born < 1975)])


@dataclass(frozen=True)
class Person:
    id_number: str
    name: str
    sex: str
    birth_date: date
    ethnicity: str

    def age_on(self, day: date) -> int:
        return age_on(self.birth_date, day)


def person(id_number: str) -> Person:
    """Who a (valid) number belongs to: the same in every service."""
    demo = DEMO_PEOPLE.get(id_number, {})
    draw = Draw(id_number)
    sex, born = sex_of(id_number), ric.get_birth_date(id_number)
    ethnicity = demo.get("ethnicity") or (
        "汉族" if draw.chance("han", 92) else draw.pick("minority", MINORITIES))
    return Person(id_number=id_number, name=demo.get("name") or _name(draw, sex, born.year),
                  sex=sex, birth_date=born, ethnicity=ethnicity)


def in_beijing(id_number: str) -> bool:
    """A number given in Beijing (its region code)."""
    return id_number.startswith("11")


def _eldest(sex: str) -> str:
    return "长子" if sex == "男" else "长女"


def household_extract(id_number: str, today: date) -> dict:
    """``household-register-extract``: raises Refused 404 for someone without a Beijing household."""
    someone = person(id_number)
    if id_number in DEMO_PEOPLE:
        record = DEMO_PEOPLE[id_number]["household"]
        if record is None:
            raise Refused(404, "not_found", NO_HOUSEHOLD)
        head = record["head"] or someone.name
        address, relation = record["address"], record["relation"]
        registered_on, station = record["registered_on"], record["police_station"]
    else:
        if not in_beijing(id_number) or someone.birth_date > today:
            raise Refused(404, "not_found", NO_HOUSEHOLD)
        draw = Draw(id_number)
        code = _district(id_number[:6], draw)
        district, branch, streets = DISTRICTS[code]
        street = draw.pick("street", streets)
        address = (f"北京市{district}{street}街道{draw.pick('community', COMMUNITIES)}"
                   f"{draw.between('building', 1, 24)}号楼{draw.between('unit', 1, 6)}单元"
                   f"{draw.between('floor', 1, 18)}{draw.between('room', 1, 4):02d}室")
        station = f"北京市公安局{branch}分局{street}派出所"
        age = someone.age_on(today)
        registered = someone.birth_date + timedelta(days=draw.between("registered", 7, 60))
        head_draw = Draw(id_number + "|head")
        if age < 18:
            relation = _eldest(someone.sex)
            parent_sex = draw.pick("parent", ("男", "女"))
            head = _name(head_draw, parent_sex, someone.birth_date.year - 28,
                         surname=someone.name[0] if parent_sex == "男" else None)
        else:
            roll = draw.number("relation", 10)
            if roll < 6:
                relation, head = "户主", someone.name
            elif roll < 9:
                relation = "妻" if someone.sex == "女" else "夫"
                spouse = "男" if someone.sex == "女" else "女"
                head = _name(head_draw, spouse, someone.birth_date.year)
            else:
                relation = _eldest(someone.sex)
                head = _name(head_draw, "男", someone.birth_date.year - 28, surname=someone.name[0])
            if relation != _eldest(someone.sex):  # moved here later: married, bought a home
                adult = someone.birth_date.replace(year=someone.birth_date.year + 18, day=1)
                registered = adult + timedelta(days=draw.number("moved", 20 * 365))
        registered_on = min(registered, today).isoformat()
    return {"name": someone.name, "sex": someone.sex, "ethnicity": someone.ethnicity,
            "birth_date": someone.birth_date.isoformat(), "household_address": address,
            "household_head": head, "relation_to_head": relation, "registered_on": registered_on,
            "police_station": station, "id_number_masked": mask_id_number(id_number)}


def business_registration(credit_code: str, today: date) -> dict:
    """``business-registration``: entities the Beijing market regulator registered (authority 9,
    a Beijing region code; type 1 enterprise, 2 individual business, 3 farmers' cooperative)."""
    if credit_code in DEMO_COMPANIES:
        return {"credit_code": credit_code, **DEMO_COMPANIES[credit_code]}
    region, kind = credit_code[2:8], credit_code[1]
    known = region == "110000" or FORMER_DISTRICTS.get(region, region) in DISTRICTS
    if credit_code[0] != "9" or kind not in "123" or not known:
        raise Refused(404, "not_found", NO_ENTITY)
    draw = Draw(credit_code)
    code = _district(region, draw)
    district, _branch, streets = DISTRICTS[code]
    short = district[:-1]
    trade = draw.pick("trade", TRADE_NAMES)
    if credit_code[8:10] == "MA":  # organisation codes given since the 2015 reform
        first, last = date(2015, 10, 1), date(2025, 12, 31)
    else:
        first, last = date(1993, 1, 1), date(2015, 9, 30)
    established = min(first + timedelta(days=draw.number("established", (last - first).days)), today)
    representative = _name(Draw(credit_code + "|representative"), draw.pick("sex", ("男", "女")),
                           draw.between("born", 1955, 1995))
    street = draw.pick("street", streets)
    if kind == "1":
        industry, scope = draw.pick("industry", INDUSTRIES)
        name = f"北京{trade}{industry}有限公司"
        capital = f"{draw.pick('capital', CAPITALS)}万元人民币"
        address = (f"北京市{district}{draw.pick('road', ROADS)}{draw.between('number', 1, 99)}号"
                   f"{draw.between('building', 1, 12)}号楼{draw.between('floor', 1, 20)}层"
                   f"{draw.between('room', 1, 30):02d}")
    elif kind == "2":
        shop = draw.pick("shop", SHOPS)
        name, scope = f"北京市{district}{trade}{shop}", _SHOP_SCOPE if shop in ("小吃店", "面馆") else _TRADE_SCOPE
        capital = f"{draw.between('capital', 1, 20)}万元人民币"
        address = f"北京市{district}{street}街道{draw.pick('road', ROADS)}{draw.between('number', 1, 99)}号"
    else:
        name, scope = f"北京{short}{trade}种植专业合作社", _FARM_SCOPE
        capital = f"{draw.between('capital', 5, 300)}万元人民币"
        address = f"北京市{district}{street}地区{trade}村{draw.between('number', 1, 200)}号"
    roll = draw.number("status", 100)
    status = STATUS_ACTIVE if roll < 85 else STATUS_CANCELLED if roll < 95 else STATUS_REVOKED
    authority = "北京市市场监督管理局" if region == "110000" else f"北京市{district}市场监督管理局"
    return {"credit_code": credit_code, "name": name, "legal_representative": representative,
            "registered_capital": capital, "established_on": established.isoformat(), "address": address,
            "business_scope": scope, "status": status, "registration_authority": authority}
