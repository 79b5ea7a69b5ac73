"""The authorization matrix (issue #12): every operation of the hub's OpenAPI x every kind of caller,
with the answer each must get (tests/support/authorization_matrix.py). How to read it and how to
add a route: docs/security.md.

Allowed means a 2xx, or a 400/409 (a body kept minimal on purpose, a state that no longer allows
the change): never 401, 403, 404 or 5xx. A refused caller gets exactly its answer, status and code.
"""
from __future__ import annotations

import httpx
import pytest

from tests.support.authorization_cases import build_call
from tests.support.authorization_cases import channel_prefix as _prefix
from tests.support.authorization_cases import matrix_cases as _cases
from tests.support.authorization_matrix import ALLOWED, MATRIX, Answer, Node
from tests.support.authorization_world import (  # noqa: F401  (fixtures)
    clean_state,
    full_buckets,
    stub,
    world,
)


@pytest.mark.parametrize(("key", "method", "path", "kind"), _cases())
async def test_each_caller_gets_the_answer_of_the_matrix(world, key, method, path, kind):
    rule = MATRIX[key]
    expected, call = rule.expect(kind), build_call(world, key, method, path, kind)
    owner = rule.owner if isinstance(rule, Node) else "handler"
    fresh = method == "DELETE" and path.endswith("/session")  # logging out ends the login it is sent with
    for answer in await world.send(kind, call, prefix=_prefix(path), owner=owner, fresh=fresh):
        where = (f"{method} {call.path} as {kind}: expected {expected}, "
                 f"got {answer.status_code}: {answer.text[:300]}")
        if expected is ALLOWED:
            assert answer.status_code < 300 or answer.status_code in (400, 409), where
        elif expected.code is None:
            assert answer.status_code == expected.status, where
        else:
            assert Answer(answer.status_code, _code(answer)) == expected, where


def _code(answer: httpx.Response) -> str | None:
    if "json" not in answer.headers.get("content-type", ""):
        return None
    body = answer.json()
    return body.get("code") if isinstance(body, dict) else None
