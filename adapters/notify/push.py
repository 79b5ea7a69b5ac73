"""App push, stubbed: a vendor's alias push (极光, 个推 and the phone makers' channels all offer
"push to every device registered under an alias"). The stub keeps what it was asked to push, for
tests and for a developer at a terminal (``GOVHUB_LOG_LEVEL=INFO`` logs each push). Implements
``domain.notifications.ports.PushGateway``; a real vendor client replaces it behind the same port.
"""
from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass

from domain.shared.errors import UpstreamUnavailable

log = logging.getLogger("govhub.adapters.push")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Push:
    id: str
    alias: str
    title: str
    body: str
    link: str


class RecordingPushStub:
    def __init__(self, *, keep: int = 1000) -> None:
        self.pushes: list[Push] = []
        self.down = False  # a test's "vendor unreachable" switch
        self._keep = keep

    async def push(self, *, alias: str, title: str, body: str, link: str) -> str:
        if self.down:
            raise UpstreamUnavailable(system="push", upstream_code="stub-down")
        sent = Push(id=f"push-{next(_ids)}", alias=alias, title=title, body=body, link=link)
        self.pushes = [*self.pushes[-(self._keep - 1):], sent]
        log.info("push %s to %s: %s", sent.id, alias, body)
        return sent.id

    def to(self, alias: str) -> list[Push]:
        return [p for p in self.pushes if p.alias == alias]


class PushNotConfigured:
    """Production until a push vendor is configured: each push is refused at once, so its delivery
    is parked with this reason for an operator to see (never "delivered" into nowhere)."""

    async def push(self, *, alias: str, title: str, body: str, link: str) -> str:
        from domain.shared.errors import UpstreamRejected

        raise UpstreamRejected(system="push", upstream_code="not-configured")
