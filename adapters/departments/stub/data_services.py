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

``SERVICE_DEFINITIONS`` is what each provider publishes to the catalog (data_definitions.py).

**Where the data subject is** (``subject``; the same for every operation of a service):

- ``{"in": "query", "name": "id_number", "kind": "person"}``: the query parameter ``name``, given
  exactly once (twice is refused: parameter pollution);
- ``{"in": "path", "name": "credit_code", "index": 1, "kind": "enterprise"}``: segment ``index``
  (0-based) of the path after the service code, percent-decoded — for ``/enterprises/{credit_code}``
  the segments are ``enterprises``, ``{credit_code}``; ``name`` is the ``{param}`` it fills;
- ``kind``: ``person`` (citizen ID number, GB 11643, ``stdnum.cn.ric``) or ``enterprise``
  (unified social credit code, GB 32100, ``stdnum.cn.uscc``). ``subject_value`` reads it.

**The data** (data_records.py; social insurance: data_insurance.py) is deterministic: demo people
and companies, anyone else generated from a hash of the number; a valid subject a department has
no record of is 404 ``{"code": "not_found"}``, anything invalid 400. No answer ever carries a full
ID number. Answers are ``application/json; charset=utf-8``, errors ``{"code", "message"}``.

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
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from urllib.parse import parse_qs, unquote

from sanic import Blueprint, Request, Sanic, json
from sanic.response import HTTPResponse
from stdnum.cn import ric, uscc

# the names this module has always offered, now kept next to it by reason to change
from adapters.departments.stub.data_definitions import (CLASSIFICATIONS, SERVICE_DEFINITIONS, definition,
                                                        provided_by)
from adapters.departments.stub.data_insurance import (BASE_BOUNDS, CENT, EMPLOYER_RATE, INSURANCE_STATUSES,
                                                      INSURANCE_TYPES, MAX_PERIOD_MONTHS, PENSION_REFORM,
                                                      PERSONAL_FLAT, PERSONAL_RATE,
                                                      social_insurance_payments)
from adapters.departments.stub.data_records import (CAPITALS, COMMUNITIES, DEMO_COMPANIES, DEMO_PEOPLE,
                                                    DISTRICTS, FORMER_DISTRICTS, GIVEN, INDUSTRIES,
                                                    MINORITIES, ROADS, SHOPS, STATUS_ACTIVE,
                                                    STATUS_CANCELLED, STATUS_REVOKED, SURNAMES,
                                                    TRADE_NAMES, Person, Refused, business_registration,
                                                    household_extract, mask_id_number, person)

__all__ = [
    # the provider role (this module)
    "CONTENT_TYPE", "FAULT_MODES", "HANDLERS", "Handler", "MAX_CALLS", "MEMBER_CLASS", "METHODS",
    "X_ROAD_HEADERS", "ServiceFault", "install", "match_operation", "parse_service_fault", "subject_value",
    # data_definitions
    "CLASSIFICATIONS", "SERVICE_DEFINITIONS", "definition", "provided_by",
    # data_records
    "CAPITALS", "COMMUNITIES", "DEMO_COMPANIES", "DEMO_PEOPLE", "DISTRICTS", "FORMER_DISTRICTS", "GIVEN",
    "INDUSTRIES", "MINORITIES", "ROADS", "SHOPS", "STATUS_ACTIVE", "STATUS_CANCELLED", "STATUS_REVOKED",
    "SURNAMES", "TRADE_NAMES", "Person", "Refused", "business_registration", "household_extract",
    "mask_id_number", "person",
    # data_insurance
    "BASE_BOUNDS", "CENT", "EMPLOYER_RATE", "INSURANCE_STATUSES", "INSURANCE_TYPES", "MAX_PERIOD_MONTHS",
    "PENSION_REFORM", "PERSONAL_FLAT", "PERSONAL_RATE", "social_insurance_payments",
]

CONTENT_TYPE = "application/json; charset=utf-8"
FAULT_MODES = ("down", "slow", "5xx")
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
MEMBER_CLASS = "GOV"
X_ROAD_HEADERS = ("X-Road-Client", "X-Road-Service", "X-Road-Id", "X-Road-UserId", "X-Road-Issue")
MAX_CALLS = 10_000  # the record keeps the latest calls


# --- the data subject ------------------------------------------------------------------------


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


# --- the operations --------------------------------------------------------------------------

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
        service = definition(service_code)
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
