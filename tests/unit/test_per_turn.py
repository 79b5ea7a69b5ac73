"""domain/shared/per_turn.py: questions asked in one turn of the event loop answered by one call,
each its own answer; a failure reaches every question waiting on it; the next turn asks again."""
from __future__ import annotations

import asyncio

import pytest

from domain.shared.per_turn import PerTurn


class Store:
    def __init__(self, fail: bool = False) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    async def answer_all(self, keys: list[str]) -> list[str]:
        self.calls.append(keys)
        await asyncio.sleep(0)
        if self.fail:
            raise ConnectionError("store down")
        return [key.upper() for key in keys]


async def test_questions_of_one_turn_share_one_call_and_each_gets_its_answer():
    store = Store()
    per_turn = PerTurn(store.answer_all)
    assert await asyncio.gather(*(per_turn.ask(key) for key in "abcab")) == list("ABCAB")
    assert store.calls == [["a", "b", "c"]]  # distinct keys, in order
    assert await per_turn.ask("d") == "D" and store.calls[-1] == ["d"]  # a later turn: its own call


async def test_without_merging_repeats_each_ask_goes_on_its_own_in_the_order_asked():
    store = Store()
    per_turn = PerTurn(store.answer_all, merge_repeats=False)
    assert await asyncio.gather(*(per_turn.ask(key) for key in "abab")) == list("ABAB")
    assert store.calls == [["a", "b", "a", "b"]]


async def test_a_failed_call_fails_every_question_waiting_on_it_and_the_next_turn_tries_again():
    store = Store(fail=True)
    per_turn = PerTurn(store.answer_all)
    answers = await asyncio.gather(*(per_turn.ask(key) for key in "abc"), return_exceptions=True)
    assert all(isinstance(answer, ConnectionError) for answer in answers)
    store.fail = False
    assert await per_turn.ask("a") == "A" and len(store.calls) == 2


async def test_a_question_cancelled_while_waiting_leaves_the_others_answered():
    store = Store()
    per_turn = PerTurn(store.answer_all)
    first, second = asyncio.ensure_future(per_turn.ask("a")), asyncio.ensure_future(per_turn.ask("b"))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "B"
    with pytest.raises(asyncio.CancelledError):
        await first
