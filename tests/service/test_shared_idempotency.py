"""The one Idempotency-Key store (domain/shared/idempotency.py) against the database: the first
result replayed, another request refused, concurrent copies writing once. Node events go through
domain/shared/node_events.py and are tested where they have effects (tests/service/test_applications_node_events.py,
tests/api/test_housing_fund_routes.py)."""
from __future__ import annotations

import asyncio
import os
from datetime import datetime, timezone

import pytest
from tortoise import connections
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


async def test_a_batch_asks_for_its_pairs_only():
    """Two citizens who each used a key the other sends too: each pair answers its own first use."""
    for person, key in (("p_1", "k-1"), ("p_2", "k-2")):
        await idempotency.record(None, claim({"a": 1}, key=key, person=person), CLOCK.now(), result=f"{person}/{key}")
    found = await idempotency.first_uses("bundles", [("p_1", "k-2"), ("p_2", "k-1"), ("p_2", "k-2")])
    assert {pair: use.result for pair, use in found.items()} == {("p_2", "k-2"): "p_2/k-2"}


@pytest.mark.skipif(not os.environ.get("GOVHUB_DATABASE_URL", "").startswith("postgres"),
                    reason="PostgreSQL's planner")
async def test_a_batch_looks_each_pair_up_in_the_unique_index_without_statistics():
    """The submit writer asks for a batch's keys on every batch; a full scan there cost the submit
    benchmark a fifth of its throughput (docs/benchmarks.md, issue #13). Thousands of keys and no
    ANALYZE (as on a machine with autovacuum off, or a table that just grew): still one index
    lookup per pair, nothing read and filtered away, up to the writer's largest batch (64). (Below
    some ten thousand keys any plan is quick; two IN lists scanned every key of the scope past that,
    8 ms at 40,000 and 48 at 200,000; an OR of pairs did past twenty pairs, 50 ms at 26,000 keys.)"""
    conn = connections.get("default")
    await conn.execute_query(
        "INSERT INTO idempotency_keys (scope, person_id, key, operation, request_hash, result, created_at) "
        "SELECT 'applications', 'p_' || (n % 1000), 'k-' || n, 'submit', 'h', 'R', now() "
        "FROM generate_series(1, 40000) AS n")
    wanted = {(f"p_{n % 1000}", f"k-{n}") for n in range(1, 64 * 3, 3)}
    sql, values = idempotency.first_uses_query(conn, "applications", wanted)
    _, plan = await conn.execute_query(f"EXPLAIN {sql}", values)
    text = "\n".join(row["QUERY PLAN"] for row in plan)
    assert "Seq Scan" not in text and "Filter:" not in text.replace("Recheck Cond:", ""), text
