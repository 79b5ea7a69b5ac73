"""What the department stub's data services publish to the hub's catalog
(adapters/departments/stub/data_services.py serves them).

``SERVICE_DEFINITIONS`` is what each provider publishes to the catalog (plain dicts):
``provider``, ``code``, ``subsystem``, ``title``, ``description``, ``owner_department``,
``operations`` (``[{"method", "path"}]``; a path may hold ``{param}`` segments), ``subject``,
``fields`` (``[{"name", "title", "classification", "source"}]``: the top-level keys of the answer,
classification one of ``public``, ``internal``, ``personal``, ``sensitive``) and ``openapi`` (an
OpenAPI 3.0 document of the operations, paths relative to the service).
"""
from __future__ import annotations

from adapters.departments.stub.data_insurance import (INSURANCE_STATUSES, INSURANCE_TYPES, MONTH_PATTERN,
                                                      NO_INSURANCE)
from adapters.departments.stub.data_records import (NO_ENTITY, NO_HOUSEHOLD, STATUS_ACTIVE, STATUS_CANCELLED,
                                                    STATUS_REVOKED)

CLASSIFICATIONS = ("public", "internal", "personal", "sensitive")

# --- the catalog: what each provider publishes ------------------------------------------------


def _field(name: str, title: str, classification: str, source: str, schema: dict) -> dict:
    return {"name": name, "title": title, "classification": classification, "source": source,
            "schema": schema}


_STRING = {"type": "string"}
_DATE = {"type": "string", "format": "date"}
_MONTH = {"type": "string", "pattern": MONTH_PATTERN}
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
                         fields=_HOUSEHOLD_FIELDS, not_found=NO_HOUSEHOLD)),
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
                         not_found=NO_INSURANCE)),
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
                         not_found=NO_ENTITY)),
]

_BY_CODE = {d["code"]: d for d in SERVICE_DEFINITIONS}


def definition(code: str) -> dict | None:
    """The published definition of a service, by its code."""
    return _BY_CODE.get(code)


def provided_by(node: str) -> list[dict]:
    """The services a node provides."""
    return [d for d in SERVICE_DEFINITIONS if d["provider"] == node]
