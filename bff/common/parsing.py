"""Request bodies: JSON parsed strictly, validated by a pydantic model, errors as field lists."""
from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel, ValidationError
from sanic import Request

from bff.common import jsonio
from domain.shared.errors import InvalidInput

M = TypeVar("M", bound=BaseModel)

_MESSAGES = {
    "missing": "必填项",
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为布尔值",
    "extra_forbidden": "不支持的字段",
    "string_too_short": "内容过短",
    "string_too_long": "内容过长",
    "string_pattern_mismatch": "格式有误",
    "dict_type": "应为对象",
    "list_type": "应为数组",
}


def parse_body(request: Request, model: type[M]) -> M:
    """Parse the JSON body into ``model``; raise a problem with one entry per bad field."""
    raw = request.body or b""
    data = jsonio.read(raw) if raw.strip() else None
    if not isinstance(data, dict):
        raise InvalidInput("请求内容应为JSON对象", errors=[{"field": "", "message": "应为JSON对象"}])
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": _MESSAGES.get(e["type"], e["msg"])}
            for e in exc.errors(include_url=False)
        ]
        raise InvalidInput("请检查以下字段：" + "、".join(e["field"] for e in errors), errors=errors) from None


def parse_query(request: Request, model: type[M]) -> M:
    """Query-string parameters into ``model`` (lax: "true", "20" are read as bool and int).

    ``model`` must be the one the route documents (``doc(query=model)``): the parameters the
    OpenAPI lists are the ones enforced here, never two lists that drift apart."""
    documented = getattr(request.route.handler, "__govhub_doc__", {}).get("query") if request.route else None
    if documented is not model:
        raise RuntimeError(f"{request.method} {request.path} reads its query with {model.__name__} "
                           f"but documents {getattr(documented, '__name__', 'none')}: doc(query={model.__name__})")
    kept = _queries.get((model, request.query_string))
    if kept is not None:
        return kept
    parsed = _parse_query(request, model)
    if len(_queries) >= QUERIES_KEPT:
        _queries.clear()
    _queries[(model, request.query_string)] = parsed
    return parsed


# (model, query string) -> the frozen model it parsed to. The same few query strings arrive again and
# again (a region's home page, a popular search): parsing one was a twelfth of a kept home page's time.
# A query string parses the same way every time: a model's checks read only what was sent.
_queries: dict[tuple[type, str], BaseModel] = {}
QUERIES_KEPT = 4096


def _parse_query(request: Request, model: type[M]) -> M:
    # a parameter sent empty (?region=) is a value to check, not one to drop as Sanic would; one sent
    # twice is refused: no query parameter is a list, and taking either copy would be a guess
    invalid = getattr(model, "invalid", InvalidInput)
    given = request.get_args(keep_blank_values=True)
    repeated = sorted(key for key, values in given.items() if len(values) > 1)
    if repeated:
        raise invalid(
            "参数不能重复：" + "、".join(repeated),
            errors=[{"field": key, "message": "只能给出一次"} for key in repeated])
    data = {key: values[0] for key, values in given.items()}
    jsonio.check(data)  # no NUL or lone surrogate reaches a filter (PostgreSQL refuses NUL in text)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": _MESSAGES.get(e["type"], e["msg"])}
            for e in exc.errors(include_url=False)
        ]
        raise invalid("请检查以下参数：" + "、".join(e["field"] for e in errors), errors=errors) from None


def idempotency_key(request: Request) -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (1 <= len(key) <= 128 and key.isprintable()):
        raise InvalidInput("Idempotency-Key 应为1到128个可见字符")
    return key
