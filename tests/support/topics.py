"""Topics for tests: a change feed in memory and the values of a complete topic."""
from __future__ import annotations

import asyncio

from domain.shared.errors import UpstreamUnavailable


class MemoryFeed:
    """The ChangeFeed port in one process: records publishes, lets a test deliver or drop."""

    def __init__(self) -> None:
        self.published: list[dict] = []
        self.broken = False
        self._handlers = None
        self._stop = asyncio.Event()

    async def publish(self, message: dict) -> None:
        if self.broken:
            raise UpstreamUnavailable("feed down", system="memory")
        self.published.append(message)

    async def follow(self, *, on_message, on_subscribed, on_lost) -> None:
        self._handlers = (on_message, on_subscribed, on_lost)
        on_subscribed()
        await self._stop.wait()

    def deliver(self, message: dict) -> None:
        self._handlers[0](message)

    def drop(self) -> None:
        self._handlers[2]()

    def resubscribe(self) -> None:
        self._handlers[1]()


def topic_values(code: str, *, entries: int = 1, **values) -> dict:
    """A topic ready to publish: wechat, nationwide unless ``values`` say otherwise."""
    return {"code": code, "title": f"专题{code}", "channels": ["wechat"],
            "entries": [{"kind": "matter", "ref": f"NAT-{n:04d}"} for n in range(1, entries + 1)], **values}
