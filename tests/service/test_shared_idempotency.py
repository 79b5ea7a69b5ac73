"""The one Idempotency-Key store (domain/shared/idempotency.py) against the database: the first
result replayed, another request refused, concurrent copies writing once. Node events go through
domain/shared/node_events.py and are tested where they have effects (tests/service/test_applications.py,
tests/api/test_housing_fund_routes.py)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone

import pytest
from tortoise.transactions import in_transaction

from domain.shared import idempotency
from domain.shared.clock import FrozenClock
from domain.shared.errors import IdempotencyKeyReused
from domain.shared.idempotency import Claim
from domain.shared.models import IdempotencyKey

pytestmark = pytest.mark.usefixtures("resources")
CLOCK = FrozenClock(datetime(2026, 12, 5, 8, 0, tzinfo=timezone.utc))


def claim(body: dict, *, key: str = "k-1", scope: str = "bundles", person: str = "p_1") -> Claim:
    return Claim(scope=scope, person_id=person, key=key, request_hash=idempotency.fingerprint(body))


class Writer:
    """A write keyed by ``claim``: counts its effects, answers its result."""

    def __init__(self) -> None:
        self.effects = 0

    def once(self, keyed: Claim, result: str):
        async def write() -> tuple[str, bool]:
            async with in_transaction() as conn:
                await idempotency.record(conn, keyed, CLOCK.now(), result=result)
                await asyncio.sleep(0.01)  # a write takes time: copies overlap it
            self.effects += 1
            return result, False

        async def replay(first: str) -> tuple[str, bool]:
            return first, True

        return idempotency.once(keyed, write=write, replay=replay)


async def test_the_same_key_and_request_answer_the_first_result():
    writer = Writer()
    assert await writer.once(claim({"a": 1}), "R-1") == ("R-1", False)
    assert await writer.once(claim({"a": 1}), "R-2") == ("R-1", True)
    assert writer.effects == 1


async def test_the_same_key_with_another_request_is_refused():
    writer = Writer()
    await writer.once(claim({"a": 1}), "R-1")
    with pytest.raises(IdempotencyKeyReused):
        await writer.once(claim({"a": 2}), "R-2")
    assert await IdempotencyKey.all().count() == 1


async def test_keys_are_apart_per_capability_and_person():
    writer = Writer()
    await writer.once(claim({"a": 1}), "R-1")
    assert await writer.once(claim({"a": 2}, scope="applications"), "A-1") == ("A-1", False)
    assert await writer.once(claim({"a": 2}, person="p_2"), "R-2") == ("R-2", False)
    uses = await idempotency.first_uses("bundles", [("p_1", "k-1"), ("p_2", "k-1"), ("p_3", "k-1")])
    assert {pair: use.result for pair, use in uses.items()} == {("p_1", "k-1"): "R-1", ("p_2", "k-1"): "R-2"}


async def test_concurrent_copies_write_once_and_all_answer_the_first_result():
    writer = Writer()
    answers = await asyncio.gather(*(writer.once(claim({"a": 1}), f"R-{n}") for n in range(8)))
    assert writer.effects == 1
    first = {result for result, replayed in answers if not replayed}
    assert len(first) == 1 and {result for result, _ in answers} == first
    assert await IdempotencyKey.all().count() == 1
