"""Enqueueing into the outbox: one row per dedupe key, on the caller's transaction."""
from __future__ import annotations

import asyncio
from datetime import date, datetime, timezone

import pytest
from tortoise.transactions import in_transaction

from domain.audit.service import SystemActor
from domain.delivery.errors import DeliveryInvalid, DeliveryNotFound
from domain.delivery.models import Delivery
from domain.delivery.views import DeliveryFilters, day_bounds

KIND = "node.application.submitted"


async def test_enqueue_writes_one_pending_delivery_due_now(resources):
    delivery = resources.delivery
    delivery_id = await delivery.enqueue(kind=KIND, target="zj-platform", payload={"number": "A1"},
                                         dedupe_key="app:A1:submitted")
    row = await Delivery.get(id=delivery_id)
    assert (row.kind, row.target, delivery.payload_of(row), row.status, row.attempts) == (
        KIND, "zj-platform", {"number": "A1"}, "pending", 0)
    assert row.next_attempt_at <= resources.clock.now()


async def test_the_same_dedupe_key_returns_the_first_id_and_writes_nothing(resources):
    delivery = resources.delivery
    first = await delivery.enqueue(kind=KIND, target="zj-platform", payload={"n": 1}, dedupe_key="k1")
    again = await delivery.enqueue(kind=KIND, target="bj-platform", payload={"n": 2}, dedupe_key="k1")
    assert again == first
    assert await Delivery.all().count() == 1
    assert delivery.payload_of(await Delivery.get(id=first)) == {"n": 1}


async def test_fifty_concurrent_enqueues_of_one_key_in_their_own_transactions_make_one_row(resources):
    delivery = resources.delivery

    async def submit(i: int) -> int:
        async with in_transaction() as conn:
            return await delivery.enqueue(kind=KIND, target="zj-platform", payload={"i": i},
                                          dedupe_key="app:SAME:submitted", connection=conn)

    ids = await asyncio.gather(*(submit(i) for i in range(50)))
    assert len(set(ids)) == 1
    assert await Delivery.filter(dedupe_key="app:SAME:submitted").count() == 1


async def test_a_rolled_back_transaction_leaves_no_delivery(resources):
    delivery = resources.delivery
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await delivery.enqueue(kind=KIND, target="zj-platform", payload={}, dedupe_key="gone", connection=conn)
            raise RuntimeError("the caller's own write failed")
    assert await Delivery.all().count() == 0
    # and the key is free again for the retry that follows
    await delivery.enqueue(kind=KIND, target="zj-platform", payload={}, dedupe_key="gone")
    assert await Delivery.all().count() == 1


@pytest.mark.parametrize("bad", [
    {"kind": "Bad Kind"}, {"target": ""}, {"payload": ["not", "a", "dict"]}, {"dedupe_key": "x" * 201},
])
async def test_bad_arguments_are_a_clear_error_and_write_nothing(resources, bad):
    arguments = {"kind": KIND, "target": "zj-platform", "payload": {}, "dedupe_key": "k", **bad}
    with pytest.raises(DeliveryInvalid) as raised:
        await resources.delivery.enqueue(**arguments)
    assert raised.value.extra["errors"][0]["field"] == next(iter(bad))
    assert await Delivery.all().count() == 0


@pytest.mark.parametrize("delivery_id", [0, -1, 2**63, 10**30, True, "1"])
async def test_an_id_no_row_can_have_is_not_found_on_every_path_and_changes_nothing(resources, delivery_id):
    """The service, not each route, guards the id: an integer beyond BIGINT would make the database
    raise (a 500) instead of finding nothing."""
    [real] = [await resources.delivery.enqueue(kind=KIND, target="zj-platform", payload={}, dedupe_key="k")]
    for call in (lambda: resources.delivery.get(delivery_id),
                 lambda: resources.delivery.resend(delivery_id=delivery_id, actor=SystemActor("system:test"))):
        with pytest.raises(DeliveryNotFound):
            await call()
    assert [(d.id, d.status) for d in await Delivery.all()] == [(real, "pending")]


async def test_a_day_filter_means_the_beijing_day_even_just_after_midnight(resources):
    """An operator's "that day" is Beijing's; rows store UTC. 00:30 in Beijing on the 28th is 16:30 UTC on
    the 27th (SQLite compares stored text, so bounds in another offset would miss it)."""
    service = resources.delivery
    delivery_id = await service.enqueue(kind="test.day", target="zj-platform", payload={}, dedupe_key="day:1")
    await Delivery.filter(id=delivery_id).update(created_at=datetime(2026, 11, 27, 16, 30, tzinfo=timezone.utc))
    start, end = day_bounds(date(2026, 11, 28))
    found = await service.list(DeliveryFilters(created_from=start, created_until=end))
    assert [view.id for view in found.items] == [delivery_id]
    start, end = day_bounds(date(2026, 11, 27))
    assert (await service.list(DeliveryFilters(created_from=start, created_until=end))).items == []


async def test_payloads_are_sealed_at_rest_bound_to_their_row_and_older_clear_rows_still_open(resources):
    from cryptography.exceptions import InvalidTag

    service = resources.delivery
    first = await service.enqueue(kind=KIND, target="zj-platform", payload={"form": {"name": "张丽"}},
                                  dedupe_key="seal:a")
    other = await service.enqueue(kind=KIND, target="zj-platform", payload={"n": 2}, dedupe_key="seal:b")
    row, moved = await Delivery.get(id=first), await Delivery.get(id=other)
    assert row.payload is None and "张丽" not in row.payload_sealed
    assert service.payload_of(row) == {"form": {"name": "张丽"}}
    moved.payload_sealed = row.payload_sealed  # a sealed payload copied onto another row does not open
    with pytest.raises(InvalidTag):
        service.payload_of(moved)
    now = resources.clock.now()
    older = await Delivery.create(kind=KIND, target="zj-platform", payload={"number": "N0"}, dedupe_key="seal:old",
                                  status="pending", attempts=0, next_attempt_at=now, created_at=now, updated_at=now)
    assert service.payload_of(older) == {"number": "N0"}  # written before payloads were sealed
