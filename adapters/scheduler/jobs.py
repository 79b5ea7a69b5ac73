"""Job entrypoints: thin, each calls one domain service."""
from __future__ import annotations

from domain.identity import housekeeping


async def purge_identity(resources) -> dict:
    return await housekeeping.purge_expired(now=resources.services["clock"].now())


async def flush_popularity(resources) -> dict:
    return await resources.services["catalog"].flush_popularity()
