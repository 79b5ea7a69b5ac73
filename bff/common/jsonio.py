"""JSON in and out of the hub, strictly: the one reader of request bodies and the one writer of answers.

Python's ``json`` is lenient where the hub must not be. It reads ``NaN`` and ``Infinity`` (not JSON),
``1e999`` (infinity), lone surrogates such as ``"\\ud800"`` (not text: RFC 7493, I-JSON) and nests as
deep as the interpreter's stack allows (a 3,000-deep body raised RecursionError, a 500). Stored, such
values broke later answers (a bare ``NaN`` is not JSON) or the database (PostgreSQL refuses U+0000 in
text, a BigInt refuses 2**64). Here every body is read once, refused with a clear 400 at parse time,
and every answer is written without NaN.
"""
from __future__ import annotations

import json
import math
from functools import partial
from typing import Any

from bff.common.errors import MalformedBody
from domain.shared.errors import InvalidInput

MAX_DEPTH = 32  # objects and arrays inside each other; the deepest real body (a bundle declaration) uses 8
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # the widest integer column (BIGINT) on either backend


class _NotJson(ValueError):
    """A token Python's parser would accept but JSON does not have."""


def _no_constant(name: str) -> Any:
    raise _NotJson(f"{name} 不是JSON数值")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NotJson(f"数值 {text[:20]} 超出范围")
    return value


def read(raw: bytes) -> Any:
    """A request body as JSON values, or a problem: malformed (400 ``malformed_json``) or holding
    a string or number the hub cannot keep (400 ``invalid_input``, naming the field)."""
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except _NotJson as exc:
        raise MalformedBody(f"请求内容不是有效的JSON：{exc}") from None
    except RecursionError:
        raise MalformedBody(f"请求内容嵌套过深（最多{MAX_DEPTH}层）") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise MalformedBody(f"请求内容不是有效的JSON：{exc.__class__.__name__}") from None
    check(data)
    return data


def check(data: Any) -> None:
    """Walk the values (without recursion: the depth is what is checked) and refuse the first that
    is too deep, a string that is not text, or an integer no column holds."""
    stack: list[tuple[Any, tuple, int]] = [(data, (), 1)]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, dict):
            _deeper(depth)
            for key, item in value.items():
                _text(key, path + (key,))
                stack.append((item, path + (key,), depth + 1))
        elif isinstance(value, list):
            _deeper(depth)
            stack.extend((item, path + (index,), depth + 1) for index, item in enumerate(value))
        elif isinstance(value, str):
            _text(value, path)
        elif isinstance(value, int) and not isinstance(value, bool) and not INT64_MIN <= value <= INT64_MAX:
            _refuse(path, "数值超出范围")


def _deeper(depth: int) -> None:
    if depth > MAX_DEPTH:
        raise MalformedBody(f"请求内容嵌套过深（最多{MAX_DEPTH}层）")


def _text(value: str, path: tuple) -> None:
    if "\x00" in value:
        _refuse(path, "含有无效字符")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: not a character, cannot be stored or sent back
            _refuse(path, "含有无效字符")


def _refuse(path: tuple, message: str) -> None:
    # the path is echoed in the problem: a key that is not text is shown escaped (\\ud83d)
    field = ".".join(str(part) for part in path).encode("utf-8", "backslashreplace").decode("utf-8")
    raise InvalidInput(f"请检查以下字段：{field}", errors=[{"field": field, "message": message}])


# Answers: NaN and Infinity are refused (ValueError, a 500 that is still JSON) rather than written
# as the bare tokens no JSON parser reads. Sanic calls it with its own keyword arguments.
dumps = partial(json.dumps, allow_nan=False, separators=(",", ":"))
