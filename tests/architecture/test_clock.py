"""Tests and the department stub take the clock they are given, never the wall clock.

A test that read the wall clock broke CI when December came (the stub counted deposit months from
``date.today()``). Time comes from the suite's clock (``tests/support/clock.py``) in tests, and from
its config's ``Clock`` in the stub; a ``FrozenClock`` is always given its moment. This check reads
the source (AST), so a new wall-clock read fails here before it fails on some calendar day.
"""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# the one module that may read the wall clock: it is what moves it for everyone else
ALLOWED = {ROOT / "tests" / "support" / "clock.py"}
WALL_CLOCK = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
              ("time", "time")}


def wall_clock_reads(source: str) -> list[tuple[int, str]]:
    """(line, what) for every wall-clock read: ``datetime.now()``, ``date.today()``, ``time.time()``
    and a ``FrozenClock()`` not told when it is."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and (func.value.id, func.attr) in WALL_CLOCK:
            found.append((node.lineno, f"{func.value.id}.{func.attr}()"))
        elif isinstance(func, ast.Name) and func.id == "FrozenClock" and not node.args and not node.keywords:
            found.append((node.lineno, "FrozenClock() without its moment"))
    return found


def _sources() -> list[Path]:
    places = [ROOT / "tests", ROOT / "adapters" / "departments" / "stub"]
    return sorted(p for place in places for p in place.rglob("*.py") if p not in ALLOWED)


def test_no_test_and_no_stub_reads_the_wall_clock():
    reads = [f"{path.relative_to(ROOT)}:{line}: {what}" for path in _sources()
             for line, what in wall_clock_reads(path.read_text(encoding="utf-8"))]
    assert not reads, "read suite_clock (tests) or the config's clock (stub) instead:\n" + "\n".join(reads)


def test_the_check_finds_each_kind_of_wall_clock_read():
    source = """
import time
from datetime import date, datetime, UTC
a = datetime.now(UTC)
b = date.today()
c = time.time()
d = FrozenClock()
e = FrozenClock(a)
f = suite_clock.now()
g = time.monotonic()
"""
    assert [line for line, _ in wall_clock_reads(source)] == [4, 5, 6, 7]
