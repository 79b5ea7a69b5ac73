"""The department stub's provider role in the data exchange (一网通享), offline.

Departments publish data services to the hub's catalog; a consumer department calls the hub at
``/r1/{instance}/GOV/{provider}/{subsystem}/{service}[/path]``, and the hub, once the grant is
checked, forwards the call signed as ``govhub`` (GOVHUB-SIG-V1, docs/nodes.md) to the provider at
``{provider endpoint}/services/{service}{path}[?query]`` with the X-Road headers
(``X-Road-Client``, ``X-Road-Service``, ``X-Road-Id``; ``X-Road-UserId`` and ``X-Road-Issue`` when
the consumer gave them). This module is that provider side for three Beijing departments:

=============================== =========== ===================================================
service code                    provider    operation
=============================== =========== ===================================================
``household-register-extract``  ``bj-psb``  ``GET /extract?id_number=``
``social-insurance-payments``   ``bj-hrss`` ``GET /payments?id_number=&from=YYYY-MM&to=YYYY-MM``
``business-registration``       ``bj-amr``  ``GET /enterprises/{credit_code}``
=============================== =========== ===================================================

``SERVICE_DEFINITIONS`` is what each provider publishes to the catalog (plain dicts):
``provider``, ``code``, ``subsystem``, ``title``, ``description``, ``owner_department``,
``operations`` (``[{"method", "path"}]``; a path may hold ``{param}`` segments), ``subject``,
``fields`` (``[{"name", "title", "classification", "source"}]``: the top-level keys of the answer,
classification one of ``public``, ``internal``, ``personal``, ``sensitive``) and ``openapi`` (an
OpenAPI 3.0 document of the operations, paths relative to the service).

**Where the data subject is** (``subject``; the same for every operation of a service):

- ``{"in": "query", "name": "id_number", "kind": "person"}``: the query parameter ``name``, given
  exactly once (twice is refused: parameter pollution);
- ``{"in": "path", "name": "credit_code", "index": 1, "kind": "enterprise"}``: segment ``index``
  (0-based) of the path after the service code, percent-decoded — for ``/enterprises/{credit_code}``
  the segments are ``enterprises``, ``{credit_code}``; ``name`` is the ``{param}`` it fills;
- ``kind``: ``person`` (citizen ID number, GB 11643, ``stdnum.cn.ric``) or ``enterprise``
  (unified social credit code, GB 32100, ``stdnum.cn.uscc``). ``subject_value`` reads it.

**The data** is deterministic: a few demo people and companies from ``DEMO_PEOPLE`` /
``DEMO_COMPANIES`` (the suite's test citizens among them), anyone else generated from a hash of the
number — the same person has the same name in every service. The public security bureau holds the
Beijing household registrations (ID numbers of Beijing's codes, ``11…``), the social insurance
bureau those insured in Beijing (Beijing codes, adults, most of them), the market regulator
entities it registered (authority ``9``, a Beijing region code); anything else valid is 404
``{"code": "not_found"}``, anything invalid 400. No answer ever carries a full ID number: only
``id_number_masked`` (first and last character). Answers are ``application/json; charset=utf-8``,
errors ``{"code", "message"}``.

**A call** is refused 404 for a node the stub does not play (``node_not_here``) or a service the
node does not provide (``service_not_here``); 401 unless the hub signed it (checked by the stub's
own ``server._check_signature``, as deliveries are); 400 without the X-Road headers or when
``X-Road-Service`` names another service; 404/405 for a path/method not among the operations.

Controls (unsigned, for tests): ``GET /_stub/services/definitions``;
``GET /_stub/services/calls[?node=&service=]`` (every call whose signature verified: node,
service, method, path, query, the X-Road headers, at, the status answered, the fault applied) and
``DELETE /_stub/services/calls``; ``POST /_stub/services/fault {"mode": "down"|"slow"|"5xx",
"seconds": float, "remaining": int|null, "status": int, "node": code, "service": code}`` (down: the
connection is dropped unanswered; slow: answered after ``seconds``; 5xx: ``status``, default 503;
``node``/``service`` narrow it), ``GET``/``DELETE /_stub/services/fault``; ``POST /_stub/services/reset``.
"""
from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import parse_qs, unquote

from sanic import Blueprint, Request, Sanic, json
from sanic.response import HTTPResponse
from stdnum.cn import ric, uscc

CONTENT_TYPE = "application/json; charset=utf-8"
CLASSIFICATIONS = ("public", "internal", "personal", "sensitive")
FAULT_MODES = ("down", "slow", "5xx")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MEMBER_CLASS = "GOV"
X_ROAD_HEADERS = ("X-Road-Client", "X-Road-Service", "X-Road-Id", "X-Road-UserId", "X-Road-Issue")
MAX_CALLS = 10_000  # the record keeps the latest calls
MAX_PERIOD_MONTHS = 60

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

# --- Beijing social insurance -----------------------------------------------------------------

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


# --- the catalog: what each provider publishes ------------------------------------------------


def _field(name: str, title: str, classification: str, source: str, schema: dict) -> dict:
    return {"name": name, "title": title, "classification": classification, "source": source,
            "schema": schema}


_STRING = {"type": "string"}
_DATE = {"type": "string", "format": "date"}
_MONTH = {"type": "string", "pattern": r"^\d{4}-(0[1-9]|1[0-2])$"}
_YUAN = {"type": "string", "pattern": r"^\d+\.\d{2}$", "description": "元，两位小数"}
_NRPI = "全国人口基础信息库"
_HOUSEHOLD = "北京市公安局常住人口登记信息"
_SI = "北京市社会保险信息系统"
_MARKET = "北京市市场主体登记注册系统"

_HOUSEHOLD_FIELDS = [
    _field("name", "姓名", "personal", _NRPI, _STRING),
    _field("sex", "性别", "personal", _NRPI, {"type": "string", "enum": ["男", "女"]}),
    _field("ethnicity", "民族", "sensitive", _NRPI, _STRING),
    _field("birth_date", "出生日期", "personal", _NRPI, _DATE),
    _field("household_address", "户籍地址", "sensitive", _HOUSEHOLD, _STRING),
    _field("household_head", "户主姓名", "personal", _HOUSEHOLD, _STRING),
    _field("relation_to_head", "与户主关系", "personal", _HOUSEHOLD, _STRING),
    _field("registered_on", "本址登记日期", "personal", _HOUSEHOLD, _DATE),
    _field("police_station", "户籍登记机关（派出所）", "internal", _HOUSEHOLD, _STRING),
    _field("id_number_masked", "公民身份号码（脱敏）", "personal", _NRPI,
           {"type": "string", "pattern": r"^[0-9]\*{16}[0-9X]$"}),
]
_PAYMENT_FIELDS = [
    _field("name", "姓名", "personal", f"{_SI}（参保人员基本信息）", _STRING),
    _field("insured_city", "参保地", "personal", f"{_SI}（参保登记）", _STRING),
    _field("insurance_types", "参保险种", "personal", f"{_SI}（参保登记）",
           {"type": "array", "items": {"type": "string", "enum": INSURANCE_TYPES}}),
    _field("months", "缴费明细", "sensitive", f"{_SI}（缴费明细）", {
        "type": "array", "description": "所查期间内已缴费的月份，按月份升序",
        "items": {"type": "object", "additionalProperties": False,
                  "required": ["month", "base", "employer", "personal"],
                  "properties": {"month": {**_MONTH, "description": "费款所属期"},
                                 "base": {**_YUAN, "description": "缴费基数（元）"},
                                 "employer": {**_YUAN, "description": "单位缴纳合计（元）"},
                                 "personal": {**_YUAN, "description": "个人缴纳合计（元）"}}}}),
    _field("total_months", "累计缴费月数", "personal", f"{_SI}（缴费明细）",
           {"type": "integer", "minimum": 0, "description": "参保以来至所查期间末的累计缴费月数"}),
    _field("status", "参保状态", "personal", f"{_SI}（参保登记）",
           {"type": "string", "enum": list(INSURANCE_STATUSES)}),
]
_BUSINESS_FIELDS = [
    _field("credit_code", "统一社会信用代码", "public", _MARKET,
           {"type": "string", "pattern": "^[0-9A-HJ-NPQRTUWXY]{18}$"}),
    _field("name", "名称", "public", _MARKET, _STRING),
    _field("legal_representative", "法定代表人（经营者、负责人）", "public", _MARKET, _STRING),
    _field("registered_capital", "注册资本（资金数额）", "public", _MARKET,
           {"type": "string", "description": "如“1000万元人民币”"}),
    _field("established_on", "成立日期", "public", _MARKET, _DATE),
    _field("address", "住所（经营场所）", "public", _MARKET, _STRING),
    _field("business_scope", "经营范围", "public", _MARKET, _STRING),
    _field("status", "登记状态", "public", _MARKET,
           {"type": "string", "enum": [STATUS_ACTIVE, STATUS_CANCELLED, STATUS_REVOKED]}),
    _field("registration_authority", "登记机关", "public", _MARKET, _STRING),
]

_ID_NUMBER_PARAMETER = {"name": "id_number", "in": "query", "required": True,
                        "description": "数据主体的公民身份号码（18位，GB 11643）",
                        "schema": {"type": "string", "pattern": "^[0-9]{17}[0-9Xx]$"}}


def _openapi(*, title: str, description: str, path: str, operation_id: str, summary: str,
             parameters: list[dict], schema_name: str, fields: list[dict], not_found: str) -> dict:
    error = {"$ref": "#/components/schemas/Error"}
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0",
                 "description": description + "\n\n经枢纽（govhub）转发，请求由枢纽以 GOVHUB-SIG-V1 签名"
                                              "（X-Gov-* 请求头，见 docs/nodes.md），并携带 X-Road-Client、"
                                              "X-Road-Service、X-Road-Id 请求头。"},
        "paths": {path: {"get": {
            "operationId": operation_id,
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {"description": "查询结果", "content": {"application/json": {
                    "schema": {"$ref": f"#/components/schemas/{schema_name}"}}}},
                "400": {"description": "参数无效（号码格式或校验位错误、期间无效、缺少 X-Road 请求头）",
                        "content": {"application/json": {"schema": error}}},
                "401": {"description": "请求未经枢纽签名或签名无效"},
                "404": {"description": not_found + "（code: not_found）",
                        "content": {"application/json": {"schema": error}}},
            },
        }}},
        "components": {"schemas": {
            schema_name: {"type": "object", "additionalProperties": False,
                          "required": [f["name"] for f in fields],
                          "properties": {f["name"]: {**f["schema"], "title": f["title"]} for f in fields}},
            "Error": {"type": "object", "required": ["code"],
                      "properties": {"code": {"type": "string", "example": "not_found"},
                                     "message": {"type": "string"}}},
        }},
    }


def _definition(*, provider: str, code: str, subsystem: str, title: str, description: str, owner: str,
                path: str, subject: dict, fields: list[dict], openapi: dict) -> dict:
    return {"provider": provider, "code": code, "subsystem": subsystem, "title": title,
            "description": description, "owner_department": owner,
            "operations": [{"method": "GET", "path": path}], "subject": subject,
            "fields": [{k: f[k] for k in ("name", "title", "classification", "source")} for f in fields],
            "openapi": openapi}


SERVICE_DEFINITIONS: list[dict] = [
    _definition(
        provider="bj-psb", code="household-register-extract", subsystem="psb-data", title="户籍信息摘要",
        description="按公民身份号码查询本市常住户口登记信息摘要：姓名、性别、民族、出生日期、户籍地址、户主及与户主关系、"
                    "登记日期和登记派出所。仅限本市户籍人员。",
        owner="北京市公安局", path="/extract",
        subject={"in": "query", "name": "id_number", "kind": "person"}, fields=_HOUSEHOLD_FIELDS,
        openapi=_openapi(title="户籍信息摘要", description="北京市公安局常住人口登记信息摘要。", path="/extract",
                         operation_id="getHouseholdRegisterExtract", summary="查询户籍信息摘要",
                         parameters=[_ID_NUMBER_PARAMETER], schema_name="HouseholdRegisterExtract",
                         fields=_HOUSEHOLD_FIELDS, not_found="本市无此人户籍登记")),
    _definition(
        provider="bj-hrss", code="social-insurance-payments", subsystem="hrss-data", title="社会保险缴费记录",
        description="按公民身份号码查询在本市参加职工社会保险的缴费记录：参保险种、参保状态、所查期间逐月缴费基数及单位、"
                    "个人缴费金额、累计缴费月数。期间缺省为截至上月的12个月，最长60个月。",
        owner="北京市人力资源和社会保障局", path="/payments",
        subject={"in": "query", "name": "id_number", "kind": "person"}, fields=_PAYMENT_FIELDS,
        openapi=_openapi(title="社会保险缴费记录", description="北京市职工社会保险参保缴费记录。", path="/payments",
                         operation_id="getSocialInsurancePayments", summary="查询社会保险缴费记录",
                         parameters=[_ID_NUMBER_PARAMETER,
                                     {"name": "from", "in": "query", "required": False,
                                      "description": "起始月份（含），缺省为截止月份前11个月",
                                      "schema": _MONTH},
                                     {"name": "to", "in": "query", "required": False,
                                      "description": "截止月份（含），缺省为上月，不得晚于本月",
                                      "schema": _MONTH}],
                         schema_name="SocialInsurancePayments", fields=_PAYMENT_FIELDS,
                         not_found="本市无此人参保记录")),
    _definition(
        provider="bj-amr", code="business-registration", subsystem="amr-data", title="企业登记信息",
        description="按统一社会信用代码查询本市登记的市场主体（企业、个体工商户、农民专业合作社）的登记信息：名称、法定代表人"
                    "（经营者）、注册资本、成立日期、住所、经营范围、登记状态和登记机关。",
        owner="北京市市场监督管理局", path="/enterprises/{credit_code}",
        subject={"in": "path", "name": "credit_code", "index": 1, "kind": "enterprise"},
        fields=_BUSINESS_FIELDS,
        openapi=_openapi(title="企业登记信息", description="北京市市场主体登记信息。", path="/enterprises/{credit_code}",
                         operation_id="getBusinessRegistration", summary="查询企业登记信息",
                         parameters=[{"name": "credit_code", "in": "path", "required": True,
                                      "description": "统一社会信用代码（18位，GB 32100）",
                                      "schema": {"type": "string", "pattern": "^[0-9A-Za-z]{18}$"}}],
                         schema_name="BusinessRegistration", fields=_BUSINESS_FIELDS,
                         not_found="本市无此市场主体登记")),
]

_BY_CODE = {d["code"]: d for d in SERVICE_DEFINITIONS}


def definition(code: str) -> dict | None:
    """The published definition of a service, by its code."""
    return _BY_CODE.get(code)


def provided_by(node: str) -> list[dict]:
    """The services a node provides."""
    return [d for d in SERVICE_DEFINITIONS if d["provider"] == node]


def subject_value(service: dict, path: str, query_string: str = "") -> str | None:
    """Where ``service["subject"]`` says the data subject is: ``path`` is the path after the service
    code as sent (``/enterprises/91110108MA0044EE3D``), ``query_string`` the raw query. None when it
    is absent, given more than once (query), or the path is too short."""
    subject = service["subject"]
    if subject["in"] == "query":
        values = parse_qs(query_string or "", keep_blank_values=True).get(subject["name"], [])
        return values[0] if len(values) == 1 else None
    segments = path[1:].split("/") if path.startswith("/") else []
    index = subject["index"]
    return unquote(segments[index]) if 0 <= index < len(segments) else None


# --- deterministic data ----------------------------------------------------------------------


class _Draw:
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


_RIC = re.compile(r"^[0-9]{17}[0-9X]$")
_USCC = re.compile(r"^[0-9A-Z]{18}$")


def _id_number(value: str | None) -> str:
    """A valid citizen ID number, or 400 — never echoing the number."""
    if value is None or not value:
        raise Refused(400, "invalid_request", "缺少参数 id_number，或重复给出")
    number = value.upper()
    if not _RIC.match(number):
        raise Refused(400, "invalid_id_number", "公民身份号码格式错误：应为18位，末位可为X")
    try:
        ric.validate(number)
    except ric.InvalidChecksum:
        raise Refused(400, "invalid_id_number", "公民身份号码校验位错误") from None
    except ric.ValidationError:
        raise Refused(400, "invalid_id_number", "公民身份号码的出生日期或地址码无效") from None
    return number


def _credit_code(value: str | None) -> str:
    if not value:
        raise Refused(400, "invalid_request", "缺少统一社会信用代码")
    code = value.upper()
    if not _USCC.match(code):
        raise Refused(400, "invalid_credit_code", "统一社会信用代码格式错误：应为18位数字或大写字母")
    try:
        uscc.validate(code)
    except uscc.InvalidChecksum:
        raise Refused(400, "invalid_credit_code", "统一社会信用代码校验位错误") from None
    except uscc.ValidationError:
        raise Refused(400, "invalid_credit_code", "统一社会信用代码无效") from None
    return code


def mask_id_number(number: str) -> str:
    """First and last character only: with the birth date beside it, more would give the number away."""
    return number[0] + "*" * (len(number) - 2) + number[-1]


def _sex(number: str) -> str:
    return "男" if int(number[16]) % 2 else "女"  # GB 11643: odd for men


def _district(code6: str, draw: _Draw) -> str:
    """A Beijing district's region code for a code in a number (a former code maps to today's)."""
    code6 = FORMER_DISTRICTS.get(code6, code6)
    return code6 if code6 in DISTRICTS else draw.pick("district", sorted(DISTRICTS))


def _name(draw: _Draw, sex: str, born: int, surname: str | None = None) -> str:
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
        born = self.birth_date
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def person(id_number: str) -> Person:
    """Who a (valid) number belongs to: the same in every service."""
    demo = DEMO_PEOPLE.get(id_number, {})
    draw = _Draw(id_number)
    sex, born = _sex(id_number), ric.get_birth_date(id_number)
    ethnicity = demo.get("ethnicity") or (
        "汉族" if draw.chance("han", 92) else draw.pick("minority", MINORITIES))
    return Person(id_number=id_number, name=demo.get("name") or _name(draw, sex, born.year),
                  sex=sex, birth_date=born, ethnicity=ethnicity)


def _beijing(id_number: str) -> bool:
    return id_number.startswith("11")


def household_extract(id_number: str, today: date) -> dict:
    """``household-register-extract``: raises Refused 404 for someone without a Beijing household."""
    someone = person(id_number)
    if id_number in DEMO_PEOPLE:
        record = DEMO_PEOPLE[id_number]["household"]
        if record is None:
            raise Refused(404, "not_found", "本市无此人户籍登记")
        head = record["head"] or someone.name
        address, relation = record["address"], record["relation"]
        registered_on, station = record["registered_on"], record["police_station"]
    else:
        if not _beijing(id_number) or someone.birth_date > today:
            raise Refused(404, "not_found", "本市无此人户籍登记")
        draw = _Draw(id_number)
        code = _district(id_number[:6], draw)
        district, branch, streets = DISTRICTS[code]
        street = draw.pick("street", streets)
        address = (f"北京市{district}{street}街道{draw.pick('community', COMMUNITIES)}"
                   f"{draw.between('building', 1, 24)}号楼{draw.between('unit', 1, 6)}单元"
                   f"{draw.between('floor', 1, 18)}{draw.between('room', 1, 4):02d}室")
        station = f"北京市公安局{branch}分局{street}派出所"
        age = someone.age_on(today)
        registered = someone.birth_date + timedelta(days=draw.between("registered", 7, 60))
        if age < 18:
            relation = ("长子" if someone.sex == "男" else "长女")
            parent_sex = draw.pick("parent", ("男", "女"))
            head = _name(_Draw(id_number + "|head"), parent_sex, someone.birth_date.year - 28,
                         surname=someone.name[0] if parent_sex == "男" else None)
        else:
            roll = draw.number("relation", 10)
            if roll < 6:
                relation, head = "户主", someone.name
            elif roll < 9:
                relation = "妻" if someone.sex == "女" else "夫"
                spouse = "男" if someone.sex == "女" else "女"
                head = _name(_Draw(id_number + "|head"), spouse, someone.birth_date.year)
            else:
                relation = "长子" if someone.sex == "男" else "长女"
                head = _name(_Draw(id_number + "|head"), "男", someone.birth_date.year - 28,
                             surname=someone.name[0])
            if relation not in ("长子", "长女"):  # moved here later: married, bought a home
                adult = someone.birth_date.replace(year=someone.birth_date.year + 18, day=1)
                registered = adult + timedelta(days=draw.number("moved", 20 * 365))
        registered_on = min(registered, today).isoformat()
    return {"name": someone.name, "sex": someone.sex, "ethnicity": someone.ethnicity,
            "birth_date": someone.birth_date.isoformat(), "household_address": address,
            "household_head": head, "relation_to_head": relation, "registered_on": registered_on,
            "police_station": station, "id_number_masked": mask_id_number(id_number)}


# months are (year, month) tuples; "YYYY-MM" outside


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
    draw = _Draw(id_number)
    if not _beijing(id_number) or someone.age_on(today) < 18 or draw.chance("uninsured", 10):
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
    low, _high = _bounds(start[0] if start[1] >= 7 else start[0] - 1)
    wage = int(low * Decimal(draw.between("wage", 100, 300)) / 100)
    return {"start": _month_text(start), "end": _month_text(end) if end else None, "status": status,
            "wage": wage}


def _base(record: dict, month: tuple[int, int]) -> Decimal:
    """The contribution base of a month: the first wage grown 6% a year, within the year's bounds."""
    start = _month(record["start"])
    first_year = start[0] if start[1] >= 7 else start[0] - 1
    year = month[0] if month[1] >= 7 else month[0] - 1
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
            if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", given[0]):
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
        raise Refused(404, "not_found", "本市无此人参保记录")
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


def business_registration(credit_code: str, today: date) -> dict:
    """``business-registration``: entities the Beijing market regulator registered (authority 9,
    a Beijing region code; type 1 enterprise, 2 individual business, 3 farmers' cooperative)."""
    if credit_code in DEMO_COMPANIES:
        return {"credit_code": credit_code, **DEMO_COMPANIES[credit_code]}
    region, kind = credit_code[2:8], credit_code[1]
    known = region == "110000" or FORMER_DISTRICTS.get(region, region) in DISTRICTS
    if credit_code[0] != "9" or kind not in "123" or not known:
        raise Refused(404, "not_found", "本市无此市场主体登记")
    draw = _Draw(credit_code)
    code = _district(region, draw)
    district, _branch, streets = DISTRICTS[code]
    short = district[:-1]
    trade = draw.pick("trade", TRADE_NAMES)
    if credit_code[8:10] == "MA":  # organisation codes given since the 2015 reform
        first, last = date(2015, 10, 1), date(2025, 12, 31)
    else:
        first, last = date(1993, 1, 1), date(2015, 9, 30)
    established = min(first + timedelta(days=draw.number("established", (last - first).days)), today)
    representative = _name(_Draw(credit_code + "|representative"), draw.pick("sex", ("男", "女")),
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


# operation handlers: (service, params from the path, the parsed query, subject, today) -> answer
Handler = Callable[[dict, dict[str, str], dict[str, list[str]], str | None, date], dict]


def _answer_extract(service, params, query, subject, today):
    return household_extract(_id_number(subject), today)


def _answer_payments(service, params, query, subject, today):
    return social_insurance_payments(_id_number(subject), query, today)


def _answer_enterprise(service, params, query, subject, today):
    return business_registration(_credit_code(subject), today)


HANDLERS: dict[tuple[str, str, str], Handler] = {
    ("household-register-extract", "GET", "/extract"): _answer_extract,
    ("social-insurance-payments", "GET", "/payments"): _answer_payments,
    ("business-registration", "GET", "/enterprises/{credit_code}"): _answer_enterprise,
}


def match_operation(service: dict, method: str, path: str) -> tuple[dict | None, dict[str, str], list[str]]:
    """The operation of ``service`` for ``method`` and ``path`` (after the service code), the
    ``{param}`` values it read, and the methods the path allows (empty: no operation has the path)."""
    segments = path[1:].split("/") if path.startswith("/") else [""] if not path else None
    allowed, found, params = [], None, {}
    for operation in service["operations"]:
        template = operation["path"][1:].split("/")
        if segments is None or len(template) != len(segments):
            continue
        values = {}
        for want, got in zip(template, segments, strict=True):
            if want.startswith("{") and want.endswith("}"):
                if not got:
                    break
                values[want[1:-1]] = unquote(got)
            elif want != got:
                break
        else:
            allowed.append(operation["method"])
            if operation["method"] == method.upper() and found is None:
                found, params = operation, values
    return found, params, allowed


# --- the routes ------------------------------------------------------------------------------


@dataclass
class ServiceFault:
    """The next ``remaining`` service calls (all when None) to ``node``/``service`` (any when None)
    misbehave: down (dropped), slow (answered after ``seconds``), 5xx (``status``, default 503)."""

    mode: str
    seconds: float = 5.0
    remaining: int | None = None
    status: int | None = None
    node: str | None = None
    service: str | None = None

    def describe(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}

    def applies(self, node: str, service: str) -> bool:
        if self.node not in (None, node) or self.service not in (None, service):
            return False
        if self.remaining is None:
            return True
        if self.remaining <= 0:
            return False
        self.remaining -= 1
        return True


def parse_service_fault(body: dict) -> ServiceFault:
    mode = body.get("mode")
    if mode not in FAULT_MODES:
        raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)}")
    remaining = body.get("remaining", body.get("count"))
    if remaining is not None and (not isinstance(remaining, int) or isinstance(remaining, bool)
                                  or remaining < 1):
        raise ValueError("remaining must be a positive integer or null (until cleared)")
    seconds = body.get("seconds", 5.0)
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or not 0 <= seconds <= 600:
        raise ValueError("seconds must be a number from 0 to 600")
    status = body.get("status")
    if status is not None and not (isinstance(status, int) and 500 <= status <= 599):
        raise ValueError("status must be a 5xx status")
    for key in ("node", "service"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ValueError(f"{key} must be a string or null")
    return ServiceFault(mode=mode, seconds=float(seconds), remaining=remaining, status=status,
                        node=body.get("node"), service=body.get("service"))


def _json(status: int, body: dict, headers: dict[str, str] | None = None) -> HTTPResponse:
    return json(body, status=status, content_type=CONTENT_TYPE, ensure_ascii=False,
                headers={"Cache-Control": "no-store", **(headers or {})})


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> HTTPResponse:
    return _json(status, {"code": code, "message": message}, headers)


def _x_road_refusal(request: Request, node: str, service: dict) -> HTTPResponse | None:
    missing = [h for h in ("X-Road-Client", "X-Road-Service", "X-Road-Id") if not request.headers.get(h)]
    if missing:
        return _error(400, "x_road_headers_missing", f"缺少请求头：{', '.join(missing)}")
    named = [unquote(part) for part in request.headers["X-Road-Service"].split("/")]
    if len(named) != 5 or named[1:] != [MEMBER_CLASS, node, service["subsystem"], service["code"]]:
        return _error(400, "x_road_service_mismatch",
                      f"X-Road-Service 应为 {{instance}}/{MEMBER_CLASS}/{node}/{service['subsystem']}/"
                      f"{service['code']}")
    if len(request.headers["X-Road-Client"].split("/")) != 4:
        return _error(400, "x_road_client_invalid",
                      "X-Road-Client 应为 {instance}/{memberClass}/{memberCode}/{subsystem}")
    return None


def install(app: Sanic) -> None:
    """Add the provider role to a stub app (the one hook in server.create_stub_app)."""
    # the stub's own checks; imported here, since server.py imports this module
    from adapters.departments.stub.server import _check_signature, _problem

    app.ctx.service_calls = []
    app.ctx.service_fault = None
    services = Blueprint("stub_data_services")
    base = "/nodes/<node:str>/services/<service_code:str>"

    @services.route(base, methods=METHODS, name="service_root")
    @services.route(f"{base}/<path:path>", methods=METHODS, name="service_path")
    async def serve(request: Request, node: str, service_code: str, path: str = ""):
        if node not in request.app.ctx.config.nodes:
            return _problem(404, "node_not_here", f"this stub does not play node {node}")
        service = _BY_CODE.get(service_code)
        if service is None or service["provider"] != node:
            return _error(404, "service_not_here", f"节点 {node} 不提供服务 {service_code}")
        refused = await _check_signature(request)
        if refused is not None:
            return refused
        parts = request.path.split("/", 5)  # "", "nodes", node, "services", service[, the rest]
        tail = "/" + parts[5] if len(parts) > 5 else ""
        call = {"node": node, "service": service_code, "method": request.method, "path": tail,
                "query": request.query_string,
                "headers": {h: request.headers[h] for h in X_ROAD_HEADERS if h in request.headers},
                "at": request.app.ctx.clock.now().isoformat(), "status": None, "fault": None}
        calls: list = request.app.ctx.service_calls
        calls.append(call)
        del calls[:-MAX_CALLS]
        fault: ServiceFault | None = request.app.ctx.service_fault
        if fault is not None and fault.applies(node, service_code):
            call["fault"] = fault.mode
            if fault.mode == "down":  # as close to "not there" as a running server gets
                request.transport.close()
                raise asyncio.CancelledError
            if fault.mode == "5xx":
                call["status"] = fault.status or 503
                return _error(call["status"], "unavailable", "服务暂不可用（stub fault）")
            await asyncio.sleep(fault.seconds)  # slow
        response = _serve(request, node, service, tail)
        call["status"] = response.status
        return response

    app.blueprint(services)
    app.blueprint(_controls())


def _serve(request: Request, node: str, service: dict, tail: str) -> HTTPResponse:
    refused = _x_road_refusal(request, node, service)
    if refused is not None:
        return refused
    operation, params, allowed = match_operation(service, request.method, tail)
    if operation is None:
        if allowed:
            return _error(405, "method_not_allowed", f"该路径只接受 {', '.join(allowed)}",
                          {"Allow": ", ".join(allowed)})
        return _error(404, "operation_not_found", f"服务 {service['code']} 无此路径")
    handler = HANDLERS[(service["code"], operation["method"], operation["path"])]
    query = parse_qs(request.query_string or "", keep_blank_values=True)
    subject = subject_value(service, tail, request.query_string)
    try:
        return _json(200, handler(service, params, query, subject, request.app.ctx.clock.today()))
    except Refused as refusal:
        return _error(refusal.status, refusal.code, refusal.message)


def _controls() -> Blueprint:
    bp = Blueprint("stub_data_service_controls", url_prefix="/_stub/services")

    @bp.get("/definitions")
    async def definitions(request: Request):
        nodes = request.app.ctx.config.nodes
        provided = [d for d in SERVICE_DEFINITIONS if d["provider"] in nodes]
        return json({"services": provided}, ensure_ascii=False)

    @bp.get("/calls")
    async def calls(request: Request):
        node, service = request.args.get("node"), request.args.get("service")
        rows = [c for c in request.app.ctx.service_calls
                if node in (None, c["node"]) and service in (None, c["service"])]
        return json({"calls": rows}, ensure_ascii=False)

    @bp.delete("/calls")
    async def forget_calls(request: Request):
        request.app.ctx.service_calls.clear()
        return json({"calls": []})

    @bp.get("/fault")
    async def get_fault(request: Request):
        fault = request.app.ctx.service_fault
        return json({"fault": fault.describe() if fault else None})

    @bp.post("/fault")
    async def set_fault(request: Request):
        try:
            body = request.json
            request.app.ctx.service_fault = parse_service_fault(body if isinstance(body, dict) else {})
        except (ValueError, TypeError) as exc:
            return json({"code": "invalid_fault", "message": str(exc)}, status=400)
        return json({"fault": request.app.ctx.service_fault.describe()}, status=201)

    @bp.delete("/fault")
    async def clear_fault(request: Request):
        request.app.ctx.service_fault = None
        return json({"fault": None})

    @bp.post("/reset")
    async def reset(request: Request):
        request.app.ctx.service_calls.clear()
        request.app.ctx.service_fault = None
        return json({"status": "reset"})

    return bp
