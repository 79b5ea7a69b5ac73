"""The authorization matrix (tests/support/authorization_matrix.py) against the operations the hub
serves (issue #12): every operation has an entry, every entry and request names an operation, and
the operations tested are exactly those of /openapi.json. How to add a route: docs/security.md."""
from __future__ import annotations

from tests.support.authorization_cases import entries_of, operations
from tests.support.authorization_cases import generic_path as _generic
from tests.support.authorization_matrix import KNOWN_HOLES, MATRIX, REQUESTS
from tests.support.authorization_world import (  # noqa: F401  (fixtures)
    clean_state,
    full_buckets,
    stub,
    world,
)
from tests.support.callers import KINDS


def test_every_operation_has_an_entry():
    missing = [f"{method} {path}" for method, path in operations() if not entries_of(method, path)]
    assert not missing, ("say who may call these: add entries to MATRIX in "
                         f"tests/support/authorization_matrix.py (docs/security.md): {missing}")


def test_every_entry_names_an_operation():
    used = {key for method, path in operations() for key in entries_of(method, path)}
    assert set(MATRIX) <= used, f"MATRIX entries that name no operation: {sorted(set(MATRIX) - used)}"
    served = {f"{method} {p}" for method, path in operations() for p in (path, _generic(path))}
    asked = {key.partition(" #")[0] for key in REQUESTS}
    assert asked <= served, f"REQUESTS for operations the app does not serve: {sorted(asked - served)}"
    assert {key for key, _ in KNOWN_HOLES} <= set(MATRIX) and {kind for _, kind in KNOWN_HOLES} <= set(KINDS)


async def test_the_matrix_covers_exactly_the_openapi(world):
    spec = (await world.client.get("/openapi.json")).json()
    documented = {(method.upper(), path) for path, item in spec["paths"].items() for method in item}
    assert documented == set(operations())
