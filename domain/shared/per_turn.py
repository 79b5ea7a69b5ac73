"""Questions asked during one turn of the event loop, answered together by one call.

Under load many requests ask the same kind of question at once (is this login revoked? how many
open applications has this citizen?), and the work per question — a round trip, building a query —
costs far more than the question. ``PerTurn`` collects the questions asked until the loop's current
turn ends and answers them with one call of ``answer_all`` (one pipeline, one query): each still
answered from the store at the moment of asking, a lone question waits for nothing but its own.
A failure of that call fails every question waiting on it.

A question asked twice in a turn is sent once, both askers getting its answer; with
``merge_repeats=False`` each ask goes on its own, in the order asked — for asks that change what
they ask about (taking a token from a rate limit's bucket).
"""
from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class PerTurn(Generic[K, V]):
    def __init__(self, answer_all: Callable[[list[K]], Awaitable[Sequence[V]]], *,
                 merge_repeats: bool = True) -> None:
        """``answer_all(keys)``: the answers to ``keys`` (distinct unless ``merge_repeats`` is
        False), in their order."""
        self._answer_all, self._merge_repeats = answer_all, merge_repeats
        self._asked: list[tuple[K, asyncio.Future]] = []
        self._calls: set[asyncio.Task] = set()

    async def ask(self, key: K) -> V:
        loop = asyncio.get_running_loop()
        answer = loop.create_future()
        if not self._asked:  # the first to ask this turn has the turn's questions sent when it ends
            loop.call_soon(self._send, context=contextvars.Context())  # not in the asker's context
        self._asked.append((key, answer))
        return await answer

    def _send(self) -> None:
        asked, self._asked = self._asked, []
        call = asyncio.ensure_future(self._answer(asked))
        self._calls.add(call)  # a task nobody holds may be collected before it ends
        call.add_done_callback(self._calls.discard)

    async def _answer(self, asked: list[tuple[K, asyncio.Future]]) -> None:
        keys = list(dict.fromkeys(key for key, _ in asked)) if self._merge_repeats else [key for key, _ in asked]
        try:
            answers = list(await self._answer_all(keys))
        except asyncio.CancelledError:
            for _, answer in asked:
                answer.cancel()
            raise
        except Exception as exc:  # every asker gets the failure; none waits for an answer that will not come
            for _, answer in asked:
                if not answer.done():
                    answer.set_exception(exc)
            return
        if self._merge_repeats:
            by_key = dict(zip(keys, answers, strict=True))
            answers = [by_key[key] for key, _ in asked]
        for (_, answer), value in zip(asked, answers, strict=True):
            if not answer.done():
                answer.set_result(value)
