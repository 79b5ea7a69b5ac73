"""The authorization matrix made into test cases: the operations the app serves, each with its
entries of ``MATRIX`` (tests/support/authorization_matrix.py), one case per entry and kind of
caller, and the request each case sends."""
from __future__ import annotations

import functools
import re
import uuid

import pytest

from bff.app import create_app
from bff.console import PAGES
from bff.settings import Settings
from tests.support.authorization_matrix import KNOWN_HOLES, MATRIX, REQUESTS
from tests.support.callers import KINDS, Call, path_value

CHANNEL = re.compile(r"^/(wx|alipay|app)/v1/")


@functools.cache
def operations() -> tuple[tuple[str, str], ...]:
    """Every (METHOD, path template) the app serves, named as its OpenAPI names them. Test cases are
    made at collection, before the hub runs, so this reads the routes of an app built for the
    purpose; test_the_matrix_covers_exactly_the_openapi holds them to /openapi.json itself."""
    app = create_app(Settings(env="test", scheduler_enabled=False, seed_demo=False, log_level="WARNING"),
                     name="govhub_authz_matrix")
    served = [route for route in app.router.routes if not route.path.startswith(PAGES)]  # pages for people
    found = {(method, _template(route.path)) for route in served
             for method in route.methods - {"HEAD", "OPTIONS"}}
    return tuple(sorted(found, key=lambda op: (op[1], op[0])))


def _template(sanic_path: str) -> str:
    """``wx/v1/matters/<code:str>`` -> ``/wx/v1/matters/{code}``."""
    return "/" + "/".join("{" + part[1:-1].split(":")[0] + "}" if part.startswith("<") else part
                          for part in sanic_path.split("/"))


def generic_path(path: str) -> str:
    return CHANNEL.sub("/{ch}/v1/", path)


def channel_prefix(path: str) -> str:
    found = CHANNEL.match(path)
    return found.group(1) if found else "wx"  # a citizen calling a route of no channel: with WeChat's token


def _split(key: str) -> tuple[str, str, str]:
    head, _, case = key.partition(" #")
    method, pattern = head.split(" ", 1)
    return method, pattern, case


def _closeness(key: str, method: str, path: str) -> tuple | None:
    """How closely ``key`` names the operation (the highest wins), or None if it does not."""
    wanted, pattern, _ = _split(key)
    if wanted not in ("*", method):
        return None
    for concrete, candidate in ((1, path), (0, generic_path(path))):
        if pattern == candidate:
            return (1, concrete, len(pattern), wanted != "*")
        if pattern.endswith("*") and candidate.startswith(pattern[:-1]):
            return (0, concrete, len(pattern), wanted != "*")
    return None


def entries_of(method: str, path: str) -> list[str]:
    """The operation's entry (the closest key without a case name), then its named cases."""
    scored = [(score, key) for key in MATRIX if (score := _closeness(key, method, path)) is not None]
    base = sorted((score, key) for score, key in scored if not _split(key)[2])
    if not base:
        return []
    return [base[-1][1]] + [key for score, key in scored if _split(key)[2] and score[0] == 1]


def matrix_cases() -> list:
    cases = []
    for method, path in operations():
        for key in entries_of(method, path):
            case = _split(key)[2]
            for kind in KINDS:
                hole = KNOWN_HOLES.get((key, kind))
                marks = [pytest.mark.xfail(reason=hole, strict=True)] if hole else []
                cases.append(pytest.param(key, method, path, kind, marks=marks,
                                          id=f"{method} {path}{' #' + case if case else ''} as {kind}"))
    return cases


def build_call(world, key: str, method: str, path: str, kind: str) -> Call:
    case = f" #{_split(key)[2]}" if _split(key)[2] else ""
    make = REQUESTS.get(f"{method} {path}{case}") or REQUESTS.get(f"{method} {generic_path(path)}{case}")
    asked = make(world) if make else {}
    parts, named = path.split("/"), asked.get("path", {})
    for i, part in enumerate(parts):
        if part.startswith("{"):
            name = part[1:-1]
            parts[i] = str(named[name] if name in named else path_value(
                world, parts[i - 1], name, prefix=channel_prefix(path), kind=kind, path=path))
    minimal = {} if method in ("POST", "PUT", "PATCH") and "content" not in asked else None
    headers = {**({"Idempotency-Key": f"authz-{uuid.uuid4().hex}"} if method == "POST" else {}),
               **asked.get("headers", {})}  # a key on every POST: its absence must not answer first
    return Call(method, "/".join(parts), query=asked.get("query", {}), body=asked.get("body", minimal),
                content=asked.get("content"), headers=headers)
