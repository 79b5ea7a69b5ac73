"""Redis commands asked during one turn of the event loop, sent together as one pipeline.

A redis-py pipeline costs the worker ~100 µs of CPU whatever it carries, and ~20 µs a command
(measured on real Redis, docs/benchmarks.md). Every request of a limited route takes a rate-limit
token, every request with a token asks whether its login is revoked, and a batch of submissions or
a matter's page counts popularity: each went as a pipeline of its own, several a turn under load.
Asked through the process's one ``TurnPipeline`` (``RedisClients.turn``) they share one. Each
command is answered with its own reply or its own error (a script that fails fails its asker
alone); a round trip that fails — Redis down, a timeout — fails every command waiting on it, which
each caller handles as it did alone.
"""
from __future__ import annotations

from typing import Any

from domain.shared.per_turn import PerTurn


class TurnPipeline:
    def __init__(self, client: Any) -> None:
        """``client``: redis.asyncio.Redis, its cluster client or fakeredis (each has pipelines)."""
        self._client = client
        self._commands: PerTurn[tuple, Any] = PerTurn(self._send, merge_repeats=False)  # each ask its own

    async def execute(self, *command: Any) -> Any:
        """``command`` (its name, then its arguments) with the turn's others; its reply."""
        reply = await self._commands.ask(command)
        if isinstance(reply, Exception):
            raise reply
        return reply

    async def _send(self, commands: list[tuple]) -> list[Any]:
        async with self._client.pipeline(transaction=False) as pipe:
            for command in commands:
                pipe.execute_command(*command)
            return await pipe.execute(raise_on_error=False)
