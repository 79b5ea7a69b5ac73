"""What the catalog needs from outside: shared counters and a shared cache (Redis in practice)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


class PopularityCounter(Protocol):
    """Views and applications counted cheaply per request, drained into the database by a job."""

    async def count(self, *, matter_id: int, views: int = 0, applications: int = 0) -> None: ...

    async def count_applications(self, counts: Mapping[int, int]) -> None:
        """Applications of many matters at once (matter id -> how many): a batch of submissions."""

    async def drain(self) -> dict[int, tuple[int, int]]:
        """Take every pending count (matter id -> (views, applications)) exactly once."""


class SharedCache(Protocol):
    async def get_json(self, key: str) -> Any | None: ...

    async def set_json(self, key: str, value: Any, *, ttl_seconds: int) -> None: ...
