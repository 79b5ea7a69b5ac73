"""Group commit: writes that arrive while a batch is being written wait, and go together in the next.

A durable write costs a transaction and a commit whatever it holds; under load most of a submit's
time went into those and into the round trips of its own small statements. ``GroupCommit`` hands
everything that queued up meanwhile to one ``write_batch`` call (one transaction, a few multi-row
statements) and answers each caller with its own result. Nobody waits for a timer: an idle
process writes a lone item at once, a busy one writes what gathered while the last batch
committed — the batch grows with the load.

Failure stays per caller: when a batch of several fails as a whole (a constraint one item broke,
a lost connection), each item is written again on its own with ``write_one``, so an item is
answered exactly as if it had come alone and never pays for a neighbour. Batches are written in a
context of their own, never in a caller's (so never inside a caller's open transaction: a caller
who needs its write to commit with its own must not use this). Up to ``writers`` batches are in
flight at once, so one batch's commit does not hold up the next. A caller is answered only after
its write committed; a caller that goes away (a dropped request) does not take its item out of a
batch already being written — its retry finds the first result.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger("govhub.group_commit")

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    def __init__(self, *, write_batch: Callable[[Sequence[T]], Awaitable[Sequence[R | Exception]]],
                 write_one: Callable[[T], Awaitable[R]], max_batch: int = 64, writers: int = 1,
                 name: str = "batch") -> None:
        """``write_batch(items)`` writes all or nothing and returns, per item and in order, its
        result or the exception to raise to that caller alone. ``write_one`` writes one item.
        ``writers``: batches in flight at once, so one batch's commit (a disk flush) does not hold
        up the next batch."""
        self._write_batch, self._write_one = write_batch, write_one
        self._max_batch, self._writers, self._name = max_batch, writers, name
        self._queue: list[tuple[T, asyncio.Future]] = []
        self._active: set[asyncio.Task] = set()

    async def write(self, item: T) -> R:
        future = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        self._active = {t for t in self._active if not t.done() and t.get_loop() is future.get_loop()}
        if len(self._active) < self._writers:
            # A context of its own: the writer must not inherit the first caller's (an open
            # transaction's connection, say) and write everybody's batch inside it.
            self._active.add(asyncio.create_task(self._drain(), name=f"group-commit:{self._name}",
                                                 context=contextvars.Context()))
        # The write runs in the writer's task: a caller that goes away cancels only its own
        # future, never the batch (``_settle`` skips a future that is done).
        return await future

    async def _drain(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[:self._max_batch], self._queue[self._max_batch:]
            await self._write(batch)

    async def _write(self, batch: list[tuple[T, asyncio.Future]]) -> None:
        try:
            results = await self._write_batch([item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle(batch[0][1], error)
                return
            log.info("%s: a batch of %d failed as a whole (%s: %s); writing each alone", self._name,
                     len(batch), type(error).__name__, error)
            await asyncio.gather(*(self._alone(item, future) for item, future in batch))
            return
        for (_, future), result in zip(batch, results, strict=True):
            _settle(future, result)

    async def _alone(self, item: T, future: asyncio.Future) -> None:
        try:
            result = await self._write_one(item)
        except Exception as error:
            result = error
        _settle(future, result)


def _settle(future: asyncio.Future, result) -> None:
    if future.done():  # its caller went away
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)
