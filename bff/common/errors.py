"""Every error leaves the hub as ``application/problem+json`` (RFC 9457) with a stable ``code``.

Domain errors carry their own code and Chinese title; framework errors (bad JSON, unknown route,
oversize body) get theirs here; the database or Redis gone is a 503 with Retry-After that the
client may retry (bff/common/outages.py); anything else unexpected is a 500 that says nothing of the
internals.
"""
from __future__ import annotations

import logging

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse, json

from bff.common.outages import DATABASE, REDIS, lost_service
from domain.shared.errors import DomainError, RateLimited

log = logging.getLogger("govhub.errors")

PROBLEM = "application/problem+json"
STATUS_OF_KIND = {
    "invalid": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "rate_limited": 429,
    "unavailable": 503,
    "bad_gateway": 502,  # a system behind the hub answered something unusable (data sharing's providers)
    "gateway_timeout": 504,  # ... or not in time
}

# A service lost: a stable code per service, and when to try again (a restart takes seconds).
OUTAGE_RETRY_AFTER_SECONDS = 2
OUTAGES = {
    DATABASE: ("database_unavailable", "系统繁忙，请稍后重试"),
    REDIS: ("cache_unavailable", "系统繁忙，请稍后重试"),
}


# Sanic's own exceptions, by status: a stable code and a citizen-fit title.
FRAMEWORK = {
    400: ("bad_request", "请求格式有误"),
    401: ("unauthorized", "请先登录"),
    403: ("forbidden", "没有权限访问"),
    404: ("route_not_found", "请求的地址不存在"),
    405: ("method_not_allowed", "不支持该请求方式"),
    408: ("request_timeout", "请求超时，请重试"),
    413: ("payload_too_large", "提交的内容过大"),
    415: ("unsupported_media_type", "不支持的内容格式"),
    503: ("service_unavailable", "服务暂不可用，请稍后再试"),
}


class MalformedBody(DomainError):
    kind = "invalid"
    code = "malformed_json"
    title = "请求内容不是有效的JSON"


def problem(status: int, code: str, title: str, detail: str, request: Request | None = None,
            headers: dict | None = None, **extra) -> HTTPResponse:
    body = {"type": f"https://govhub.gov.cn/problems/{code}", "title": title, "status": status,
            "detail": detail, "code": code, **extra}
    if request is not None:
        body["instance"] = request.path
        body["request_id"] = str(request.id)
    return json(body, status=status, content_type=PROBLEM, headers=headers, ensure_ascii=False)


def domain_problem(request: Request, error: DomainError) -> HTTPResponse:
    status = STATUS_OF_KIND.get(error.kind, 400)
    headers = {}
    if isinstance(error, RateLimited) and error.retry_after:
        headers["Retry-After"] = str(error.retry_after)
    elif status == 503:  # a system behind the hub is down (Redis, a department): worth retrying soon
        headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    if status >= 500 or error.kind == "rate_limited":
        log.warning("domain error %s: %s", error.code, error.detail)
    return problem(status, error.code, error.title, error.detail, request, headers, **error.extra)


def framework_problem(request: Request, error: SanicException) -> HTTPResponse:
    status = getattr(error, "status_code", 500) or 500
    if status == 503:  # Sanic's response timeout: nothing wrong with the request, worth sending again
        code, title = FRAMEWORK[503]
        return problem(503, code, title, title, request, {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)})
    if status >= 500:
        return unexpected_problem(request, error)
    code, title = FRAMEWORK.get(status, ("bad_request", "请求有误"))
    detail = title if status == 404 else str(error) or title
    headers = getattr(error, "headers", None) or {}
    return problem(status, code, title, detail, request, dict(headers))


def outage_problem(request: Request, service: str, error: BaseException) -> HTTPResponse:
    code, title = OUTAGES[service]
    # a line, not a traceback per request: during an outage every request would log one
    log.warning("%s unavailable: %s: %s", service, type(error).__name__, error)
    return problem(503, code, title, "暂时无法处理请求，请稍后用同一 Idempotency-Key 重试", request,
                   {"Retry-After": str(OUTAGE_RETRY_AFTER_SECONDS)})


def unexpected_problem(request: Request, error: BaseException) -> HTTPResponse:
    if (service := lost_service(error)) is not None:
        return outage_problem(request, service, error)
    log.exception("unexpected error", exc_info=error)
    return problem(500, "internal_error", "系统开小差了，请稍后再试",
                   "服务器内部错误，已记录，请稍后再试", request)


def install(app: Sanic) -> None:
    @app.exception(DomainError)
    async def on_domain_error(request: Request, error: DomainError):
        return domain_problem(request, error)

    @app.exception(SanicException)
    async def on_sanic_error(request: Request, error: SanicException):
        return framework_problem(request, error)

    @app.exception(Exception)
    async def on_unexpected(request: Request, error: Exception):
        return unexpected_problem(request, error)
