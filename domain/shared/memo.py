"""A few seconds of memory for what every request reads and almost nothing changes.

A submit reads the matter and its handling nodes each time; under load those reads cost more than
the submit's own writes. ``Memo`` keeps a loaded value for ``seconds`` in this process. What that
costs is named where it is used: a change made elsewhere is seen here up to ``seconds`` late.
Failures are not kept (the next call tries again), and the memo never grows past ``max_entries``.
The same value is handed to every request within its seconds: keep immutable snapshots (frozen
dataclasses), never an ORM object one request could change under another.
"""
from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Memo(Generic[K, V]):
    def __init__(self, *, seconds: float, max_entries: int = 10_000,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._seconds, self._max_entries, self._monotonic = seconds, max_entries, monotonic
        self._kept: dict[K, tuple[float, V]] = {}

    async def get(self, key: K, load: Callable[[], Awaitable[V]], *, keep: Callable[[V], bool] = lambda _: True) -> V:
        """The value kept for ``key``, or ``await load()`` (kept when ``keep(value)``)."""
        now = self._monotonic()
        kept = self._kept.get(key)
        if kept is not None and now - kept[0] < self._seconds:
            return kept[1]
        value = await load()
        if keep(value):
            if len(self._kept) >= self._max_entries:
                self._kept.clear()  # rare: crude, but bounded and never wrong
            self._kept[key] = (now, value)
        return value

    def clear(self) -> None:
        """Forget everything kept (a store emptied under it, as the test harness does)."""
        self._kept.clear()
