"""Applications on the database, the citizen's own: another person's do not exist for them, their
list with its filters and pages, and withdrawal."""
from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.applications import errors, rules
from domain.applications.models import Transition
from domain.applications.views import ListFilters
from domain.delivery.models import Delivery
from domain.shared.errors import IdempotencyKeyReused
from domain.shared.models import IdempotencyKey
from tests.support.application_service import NOW, alice, bob, nodes, service  # noqa: F401  (fixtures)
from tests.support.application_service import submit as _submit
from tests.support.applications import FORM

pytestmark = pytest.mark.frozen_at(NOW)


# --- the citizen's own ------------------------------------------------------------------------


async def test_another_persons_application_does_not_exist_for_them(service, alice, bob):
    number = (await _submit(service)).application.number
    for call in (service.detail(person_id="p_bob", number=number),
                 service.withdraw(person_id="p_bob", number=number),
                 service.resubmit(person_id="p_bob", number=number, form=FORM, materials=[])):
        with pytest.raises(errors.ApplicationNotFound):
            await call
    assert (await service.list_own(person_id="p_bob")).items == []
    assert (await service.detail(person_id="p_alice", number=number)).status == rules.SUBMITTED


async def test_list_filters_and_pages(service, alice, clock):
    numbers = [(await _submit(service, key=f"k{i}")).application.number for i in range(5)]
    await service.withdraw(person_id="p_alice", number=numbers[0])
    page = await service.list_own(person_id="p_alice", limit=2)
    assert [a.number for a in page.items] == numbers[:2:-1][:2] == [numbers[4], numbers[3]]
    rest = await service.list_own(person_id="p_alice", limit=10, cursor=page.next_cursor)
    assert [a.number for a in rest.items] == [numbers[2], numbers[1], numbers[0]] and rest.next_cursor is None
    opened = await service.list_own(person_id="p_alice", filters=ListFilters(status="open"))
    assert numbers[0] not in {a.number for a in opened.items} and len(opened.items) == 4
    closed = await service.list_own(person_id="p_alice", filters=ListFilters(status=rules.WITHDRAWN))
    assert [a.number for a in closed.items] == [numbers[0]]
    assert (await service.list_own(person_id="p_alice", filters=ListFilters(matter_code="other"))).items == []
    today = date(2026, 11, 27)
    dated = await service.list_own(person_id="p_alice", filters=ListFilters(submitted_from=today, submitted_until=today))
    assert len(dated.items) == 5
    later = await service.list_own(person_id="p_alice", filters=ListFilters(submitted_from=today + timedelta(days=1)))
    assert later.items == []
    assert await service.open_count("p_alice") == 4 and await service.open_count("p_bob") == 0


async def test_a_day_filter_means_the_beijing_day_even_just_after_midnight(service, alice, clock):
    """00:30 in Beijing is 16:30 UTC the day before: the stored time is UTC, the filter's day is Beijing's
    (SQLite compares the stored text, so a bound in another offset would miss the whole day)."""
    clock._at = datetime(2026, 11, 27, 16, 30, tzinfo=UTC)
    number = (await _submit(service)).application.number
    beijing_day = date(2026, 11, 28)
    dated = await service.list_own(person_id="p_alice", filters=ListFilters(submitted_from=beijing_day,
                                                                             submitted_until=beijing_day))
    assert [a.number for a in dated.items] == [number]
    day_before = await service.list_own(person_id="p_alice", filters=ListFilters(
        submitted_until=beijing_day - timedelta(days=1)))
    assert day_before.items == []


# --- withdraw ---------------------------------------------------------------------------------


async def test_withdraw_records_tells_the_node_and_cannot_happen_twice(service, alice):
    number = (await _submit(service)).application.number
    view = await service.withdraw(person_id="p_alice", number=number, reason="不需要了")
    assert view.status == rules.WITHDRAWN and view.allowed_actions == ()
    assert [(t.name, t.reason) for t in view.timeline][-1] == ("withdraw", "不需要了")
    delivery = await Delivery.get(dedupe_key=f"application:{number}:withdrawn")
    assert service.delivery.payload_of(delivery) == {"number": number, "reason": "不需要了"}
    with pytest.raises(errors.TransitionNotAllowed):
        await service.withdraw(person_id="p_alice", number=number)
    assert await Transition.filter(name="withdraw").count() == 1


async def test_withdraw_with_a_key_replays_instead_of_refusing(service, alice):
    number = (await _submit(service)).application.number
    first = await service.withdraw(person_id="p_alice", number=number, idempotency_key="w-1")
    again = await service.withdraw(person_id="p_alice", number=number, idempotency_key="w-1")
    assert first.status == again.status == rules.WITHDRAWN
    with pytest.raises(IdempotencyKeyReused):
        await service.withdraw(person_id="p_alice", number=number, reason="other", idempotency_key="w-1")


async def test_concurrent_withdrawals_with_one_key_withdraw_once(service, alice):
    number = (await _submit(service)).application.number
    views = await asyncio.gather(*[service.withdraw(person_id="p_alice", number=number, idempotency_key="w")
                                   for _ in range(10)])
    assert {v.status for v in views} == {rules.WITHDRAWN}
    assert await Transition.filter(name="withdraw").count() == 1 and await IdempotencyKey.all().count() == 2
