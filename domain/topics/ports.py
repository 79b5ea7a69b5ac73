"""What topics need from outside: a channel telling every hub instance that topics changed."""
from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class ChangeFeed(Protocol):
    """Publish/subscribe shared by every hub instance (Redis pub/sub in production)."""

    async def publish(self, message: dict) -> None:
        """Tell every subscribed instance. Raises UpstreamUnavailable when it cannot."""

    async def follow(self, *, on_message: Callable[[dict], None],
                     on_subscribed: Callable[[], None], on_lost: Callable[[], None]) -> None:
        """Run until cancelled: call ``on_subscribed`` each time the subscription is (re)established,
        ``on_message`` for each message, and ``on_lost`` when the connection drops (messages may
        be missed until the next ``on_subscribed``). Reconnects by itself, never returns."""
