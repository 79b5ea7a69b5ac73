"""A citizen's messages about one application reach WeChat in the order of its status changes
(docs/delivery.md, "Order"): four changes in quick succession, the first send failing once, two
relays (as on two instances) sending at once over real HTTP to the mock WeChat; and another
application's message is not held up meanwhile. Then the same order rule, asked of the database,
answers what the pure rule answers."""
from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import httpx
import pytest
from tortoise.transactions import in_transaction

from domain.applications.ports import TransitionNotice
from domain.applications.rules import STATUS_NAMES
from domain.delivery import rules as delivery_rules
from domain.delivery.models import Delivery
from domain.delivery.relay import _due_in_order
from domain.delivery.service import DeliveryService
from domain.identity.models import ChannelAccount, Person
from domain.notifications import rules
from domain.notifications.service import Templates

CHANGES = [("accept", "submitted", "accepted"), ("start_review", "accepted", "in_review"),
           ("approve", "in_review", "approved"), ("complete", "approved", "completed")]


@pytest.fixture
async def mock(mock_url):
    async with httpx.AsyncClient(base_url=mock_url) as http:
        await http.post("/_mock/reset")
        yield http
        await http.post("/_mock/reset")


async def _citizen(resources, mock, user: str, consents: int) -> str:
    openid = (await mock.get(f"/_mock/users/{user}")).json()["wechat"]["openid"]
    person = await Person.create(public_id=f"p_{user}", assurance=2)
    await ChannelAccount.create(person=person, channel="wechat", subject=openid, last_login_at=resources.clock.now())
    for _ in range(consents):
        await resources.notifications.grant(person_id=person.public_id, channel="wechat",
                                            results={Templates().wechat.id: "accept"})
    return openid


async def _change(resources, person: str, number: str, change: tuple[str, str, str], minute: int) -> None:
    """One status change, in its own transaction, as the applications service makes it."""
    transition, before, after = change
    notice = TransitionNotice(number=number, person_id=person, channel="wechat", matter_name="个体工商户设立登记",
                              transition=transition, from_status=before, to_status=after,
                              at=resources.clock.now() + timedelta(minutes=minute), reason=None, due_on=None)
    async with in_transaction() as conn:
        await resources.notifications.on_transitions([notice], connection=conn)


def _relay(resources, name: str) -> DeliveryService:
    """A relay as on another instance; retries come after 0.2 to 0.4 s instead of 5 to 10 s."""
    return DeliveryService(clock=resources.clock, vault=resources.vault, senders=resources.delivery.senders,
                           relay_name=name, concurrency=8, send_timeout=5.0, backoff_base=0.4)


async def _received(mock, openid: str) -> list[str]:
    messages = (await mock.get("/_mock/wechat/messages", params={"touser": openid})).json()["messages"]
    return [m["data"]["phrase3"]["value"] for m in messages]


async def test_messages_about_one_application_arrive_in_the_order_of_its_changes(resources, mock):
    alice = await _citizen(resources, mock, "alice", consents=len(CHANGES))
    bob = await _citizen(resources, mock, "bob", consents=1)
    number = "330106-20261127-000101"
    for minute, change in enumerate(CHANGES, start=1):
        await _change(resources, "p_alice", number, change, minute)
    # WeChat is busy for the first message: it must wait for its retry, and so must the ones after it
    assert (await mock.post("/_mock/faults", json={"api": "subscribe_send", "times": 1, "errcode": -1})).status_code == 201
    east, west = _relay(resources, "east"), _relay(resources, "west")
    first = await east.relay_due(100)
    assert (first.claimed, first.retrying) == (1, 1), first  # only the first of alice's, which failed
    await _change(resources, "p_bob", "330106-20261127-000102", CHANGES[0], 1)
    assert (await west.relay_due(100)).delivered == 1  # bob's is not held up by alice's application
    assert await _received(mock, bob) == ["已受理"]
    assert await _received(mock, alice) == []

    async def relay_until_done(relay: DeliveryService) -> None:
        for _ in range(200):
            if not await Delivery.filter(status="pending").exists():
                return
            await relay.relay_due(100)
            await asyncio.sleep(0.02)

    await asyncio.gather(relay_until_done(east), relay_until_done(west))
    expected = [rules.clip(STATUS_NAMES[after], rules.PHRASE_MAX) for _, _, after in CHANGES]
    assert await _received(mock, alice) == expected
    assert await Delivery.filter(status="delivered").count() == len(CHANGES) + 1

    # an operator puts the first message back in the queue: old news after new is not sent
    oldest = await Delivery.filter(kind="notify.wechat").order_by("id").first()
    await Delivery.filter(id=oldest.id).update(status="pending", attempts=0)
    assert (await east.relay_due(100)).parked == 1
    assert (await Delivery.get(id=oldest.id)).parked_reason.startswith("rejected by the receiver: superseded")
    assert await _received(mock, alice) == expected


async def test_the_database_claims_what_the_order_rule_allows(resources):
    """The rule in SQL (relay.py) against the pure rule, over random outboxes."""
    rng = random.Random(17)
    now = resources.clock.now()
    for round_ in range(6):
        await Delivery.all().delete()
        queued = []
        for n in range(30):
            key = rng.choice(["notify:A", "notify:B", "notify:C", None])
            status = rng.choice([delivery_rules.PENDING] * 3 + [delivery_rules.DELIVERED, delivery_rules.PARKED])
            leased = status == delivery_rules.PENDING and rng.random() < 0.15
            row = await Delivery.create(
                kind="notify.wechat", target="wechat", payload={}, dedupe_key=f"r{round_}:{n}", status=status,
                next_attempt_at=now - timedelta(seconds=1), created_at=now, updated_at=now, ordering_key=key,
                ordering_position=rng.randint(1, 6) if key else None,
                claimed_by="another" if leased else None, claimed_until=now + timedelta(minutes=1) if leased else None)
            queued.append(delivery_rules.Queued(row.id, key, row.ordering_position, status, leased))
        async with in_transaction() as conn:
            claimable = await _due_in_order(conn, now, 100)
        assert sorted(claimable) == sorted(delivery_rules.sendable(queued)), round_
