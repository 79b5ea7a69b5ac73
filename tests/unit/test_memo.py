"""The few-seconds memo (domain/shared/memo.py)."""
from __future__ import annotations

import pytest

from domain.shared.memo import Memo


class Source:
    def __init__(self):
        self.loads = 0

    async def load(self):
        self.loads += 1
        return self.loads


async def test_a_value_is_kept_for_its_seconds_then_loaded_again():
    now = [0.0]
    memo, source = Memo(seconds=5, monotonic=lambda: now[0]), Source()
    assert await memo.get("a", source.load) == 1
    now[0] = 4.9
    assert await memo.get("a", source.load) == 1
    assert await memo.get("b", source.load) == 2  # another key loads
    now[0] = 5.0
    assert await memo.get("a", source.load) == 3


async def test_values_it_is_told_not_to_keep_and_failures_are_loaded_every_time():
    memo, source = Memo(seconds=5), Source()
    assert [await memo.get("a", source.load, keep=lambda v: v > 2) for _ in range(4)] == [1, 2, 3, 3]

    async def broken():
        raise LookupError("gone")

    for _ in range(2):
        with pytest.raises(LookupError):
            await memo.get("x", broken)


async def test_it_never_grows_past_its_bound():
    memo, source = Memo(seconds=60, max_entries=3), Source()
    for key in range(10):
        await memo.get(key, source.load)
    assert len(memo._kept) <= 3


async def test_cleared_it_loads_again_at_once():
    memo, source = Memo(seconds=60), Source()
    assert await memo.get("a", source.load) == 1
    memo.clear()
    assert await memo.get("a", source.load) == 2
