"""Group commit (domain/shared/group_commit.py): what queues while a batch is written goes in the
next batch; each caller gets its own answer; a failed batch is written item by item."""
from __future__ import annotations

import asyncio

import pytest

from domain.shared.group_commit import GroupCommit


class Writer:
    """Records every batch; the first batch waits for ``release`` so that others can queue."""

    def __init__(self, *, fail_batches: bool = False, refuse: frozenset = frozenset()) -> None:
        self.batches: list[list[int]] = []
        self.alone: list[int] = []
        self.release = asyncio.Event()
        self.fail_batches, self.refuse = fail_batches, refuse

    async def write_batch(self, items):
        self.batches.append(list(items))
        if len(self.batches) == 1:
            await self.release.wait()
        if self.fail_batches and len(items) > 1:
            raise RuntimeError("one of them broke the batch")
        return [ValueError(f"refused {i}") if i in self.refuse else i * 10 for i in items]

    async def write_one(self, item):
        self.alone.append(item)
        if item in self.refuse:
            raise ValueError(f"refused {item} alone")
        return item * 10


async def _started(group, items):
    tasks = [asyncio.create_task(group.write(i)) for i in items]
    await asyncio.sleep(0)  # let them queue
    return tasks


async def test_what_queues_during_a_write_goes_together_in_the_next_batch():
    writer = Writer()
    group = GroupCommit(write_batch=writer.write_batch, write_one=writer.write_one)
    first = await _started(group, [1])
    await asyncio.sleep(0)
    rest = await _started(group, [2, 3, 4, 5])
    writer.release.set()
    assert await asyncio.gather(*first, *rest) == [10, 20, 30, 40, 50]
    assert writer.batches == [[1], [2, 3, 4, 5]] and writer.alone == []


async def test_batches_never_exceed_the_maximum():
    writer = Writer()
    group = GroupCommit(write_batch=writer.write_batch, write_one=writer.write_one, max_batch=2)
    tasks = await _started(group, [1, 2, 3, 4, 5])
    writer.release.set()
    assert await asyncio.gather(*tasks) == [10, 20, 30, 40, 50]
    assert writer.batches == [[1, 2], [3, 4], [5]]


async def test_an_item_the_batch_refuses_fails_for_its_caller_alone():
    writer = Writer(refuse=frozenset({3}))
    group = GroupCommit(write_batch=writer.write_batch, write_one=writer.write_one)
    tasks = await _started(group, [2, 3, 4])
    writer.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == 20 and results[2] == 40
    assert isinstance(results[1], ValueError) and str(results[1]) == "refused 3"
    assert writer.alone == []


async def test_a_batch_that_fails_as_a_whole_is_written_item_by_item():
    writer = Writer(fail_batches=True, refuse=frozenset({3}))
    writer.release.set()
    group = GroupCommit(write_batch=writer.write_batch, write_one=writer.write_one)
    tasks = await _started(group, [2, 3, 4])
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert results[0] == 20 and results[2] == 40 and str(results[1]) == "refused 3 alone"
    assert sorted(writer.alone) == [2, 3, 4]


async def test_a_lone_item_whose_write_fails_gets_that_error_and_is_not_written_twice():
    async def broken(items):
        raise RuntimeError("database gone")

    alone = []
    group = GroupCommit(write_batch=broken, write_one=lambda item: alone.append(item))
    with pytest.raises(RuntimeError, match="database gone"):
        await group.write(1)
    assert alone == []


async def test_a_caller_that_goes_away_does_not_cancel_the_batch():
    writer = Writer()
    group = GroupCommit(write_batch=writer.write_batch, write_one=writer.write_one)
    first = await _started(group, [1])
    await asyncio.sleep(0)
    leaving, staying = await _started(group, [2, 3])
    leaving.cancel()
    writer.release.set()
    assert await first[0] == 10 and await staying == 30
    assert writer.batches == [[1], [2, 3]]  # the one who left was written all the same


async def test_batches_are_written_in_a_context_of_their_own():
    import contextvars

    marker = contextvars.ContextVar("marker", default="none")
    seen = []

    async def write_batch(items):
        seen.append(marker.get())
        return list(items)

    group = GroupCommit(write_batch=write_batch, write_one=write_batch)
    marker.set("the first caller's transaction")
    assert await group.write(1) == 1
    assert seen == ["none"]


async def test_with_two_writers_a_second_batch_is_written_while_the_first_commits():
    writer = Writer()  # the first batch waits for release
    group = GroupCommit(write_batch=writer.write_batch, write_one=writer.write_one, writers=2)
    first = await _started(group, [1])
    await asyncio.sleep(0)
    second = await _started(group, [2, 3])
    await asyncio.sleep(0)
    assert await asyncio.gather(*second) == [20, 30]  # done while the first batch still waits
    assert not first[0].done()
    writer.release.set()
    assert await first[0] == 10
    assert writer.batches == [[1], [2, 3]]
