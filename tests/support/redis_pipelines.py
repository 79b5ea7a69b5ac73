"""A Redis client as the adapters see it, counting the pipelines they open (adapters/cache/turn.py:
the commands of one loop turn should go in one)."""
from __future__ import annotations

from typing import Any


class PipelineCounter:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.opened: list[dict] = []  # each pipeline's options, in the order opened

    def pipeline(self, **options: Any) -> Any:
        self.opened.append(options)
        return self._client.pipeline(**options)
