"""What nodes need from outside: somewhere shared by every worker to remember used nonces."""
from __future__ import annotations

from typing import Protocol


class NonceStore(Protocol):
    async def claim(self, node_code: str, nonce: str, ttl_seconds: int) -> bool:
        """True the first time ``nonce`` is claimed for ``node_code`` within ``ttl_seconds``,
        False every later time. Atomic across workers and hosts. Raises UpstreamUnavailable when
        it cannot tell (never answers True on doubt: that would let a replay through)."""
