"""Applications on the database, node events: acceptance and its deadline in working days, replays,
order, correction and resubmission, and overdue deadlines."""
from __future__ import annotations

import asyncio
from datetime import date, timedelta

import pytest

from domain.applications import errors, rules
from domain.applications.models import Application, NodeEvent, Transition
from domain.delivery.models import Delivery
from domain.shared.errors import EventIdReused
from tests.support.application_service import NOW, alice, nodes, service  # noqa: F401  (fixtures)
from tests.support.application_service import event as _event
from tests.support.application_service import submit as _submit
from tests.support.application_service import upload as _upload
from tests.support.applications import FORM, JPEG

pytestmark = pytest.mark.frozen_at(NOW)


async def test_acceptance_sets_the_deadline_in_working_days(service, alice):
    number = (await _submit(service)).application.number
    outcome = await _event(service, number, "accepted", department_reference="HZGJJ-2026-001")
    assert (outcome.status, outcome.applied, outcome.outcome, outcome.replayed) == (rules.ACCEPTED, True, "applied", False)
    view = await service.detail(person_id="p_alice", number=number)
    assert view.due_on == date(2026, 12, 2) and view.department_reference == "HZGJJ-2026-001"
    assert view.timeline[-1].actor_kind == "node" and view.accepted_at == NOW


async def test_an_event_id_replayed_answers_the_first_result(service, alice):
    number = (await _submit(service)).application.number
    first = await _event(service, number, "accepted", event_id="e1")
    await _event(service, number, "review_started", event_id="e2", minutes=1)
    again = await _event(service, number, "accepted", event_id="e1")
    assert again.replayed and (again.status, again.applied) == (first.status, first.applied) == (rules.ACCEPTED, True)
    with pytest.raises(EventIdReused):
        await _event(service, number, "approved", event_id="e1")
    assert await Transition.filter(name="accept").count() == 1 and await NodeEvent.all().count() == 2


async def test_concurrent_replays_of_one_event_apply_it_once(service, alice):
    number = (await _submit(service)).application.number
    outcomes = await asyncio.gather(*[_event(service, number, "accepted", event_id="same") for _ in range(10)])
    assert {o.status for o in outcomes} == {rules.ACCEPTED} and sum(not o.replayed for o in outcomes) == 1
    assert await Transition.filter(name="accept").count() == 1


async def test_only_the_handling_node_may_post_events(service, alice):
    number = (await _submit(service)).application.number
    with pytest.raises(errors.ApplicationNotFound):
        await _event(service, number, "accepted", node="bj-psb")
    with pytest.raises(errors.ApplicationNotFound):
        await _event(service, "330100-20261127-999999", "accepted")
    assert await NodeEvent.all().count() == 0


async def test_out_of_order_events_wait_and_never_move_backwards(service, alice):
    number = (await _submit(service)).application.number
    early = await _event(service, number, "approved", minutes=3)
    assert (early.status, early.applied, early.outcome) == (rules.SUBMITTED, False, rules.WAIT)
    await _event(service, number, "completed", minutes=4)
    accepted = await _event(service, number, "accepted", minutes=1)  # the waiting ones follow at once
    assert (accepted.status, accepted.applied) == (rules.COMPLETED, True)
    late = await _event(service, number, "review_started", minutes=2)
    assert (late.status, late.applied, late.outcome) == (rules.COMPLETED, False, rules.STALE)
    view = await service.detail(person_id="p_alice", number=number)
    assert [t.name for t in view.timeline] == ["submit", "accept", "approve", "complete"]
    assert set(await NodeEvent.all().values_list("outcome", flat=True)) == {rules.APPLY, rules.STALE}


async def test_correction_then_resubmission_returns_to_review_keeping_the_days_left(service, alice, clock):
    number = (await _submit(service)).application.number  # Fri 27 Nov
    await _event(service, number, "accepted")  # due Wed 2 Dec
    await _event(service, number, "review_started", minutes=1)
    clock.advance(3 * 86400)  # Mon 30 Nov
    await service.apply_event(node_code="zj-platform", number=number, event_id="corr", type="correction_requested",
                              occurred_at=clock.now(), reason="购房合同不清晰")
    view = await service.detail(person_id="p_alice", number=number)
    assert view.status == rules.CORRECTION_REQUESTED and view.allowed_actions == ("withdraw", "resubmit")
    with pytest.raises(errors.FormInvalid):
        await service.resubmit(person_id="p_alice", number=number, form={}, materials=[])
    clock.advance(7 * 86400)  # Mon 7 Dec: the citizen took a week; the clock stood still
    new_file = await _upload(service, data=JPEG)
    corrected = {"form": {**FORM, "amount_fen": 1000}, "materials": [
        {"name": "居民身份证", "license_id": "lic-id-alice"}, {"name": "购房合同", "upload_id": new_file}]}
    view = await service.resubmit(person_id="p_alice", number=number, idempotency_key="r-1", **corrected)
    assert view.status == rules.IN_REVIEW and view.form["amount_fen"] == 1000
    assert view.due_on == date(2026, 12, 9)  # two working days were left (Tue 1, Wed 2 Dec)
    again = await service.resubmit(person_id="p_alice", number=number, idempotency_key="r-1", **corrected)
    assert again.version == view.version  # a retry: nothing changed twice
    delivery = await Delivery.get(kind="node.application.resubmitted")
    payload = service.delivery.payload_of(delivery)
    assert payload["form"]["amount_fen"] == 1000 and payload["due_on"] == "2026-12-09"
    stale = await service.apply_event(node_code="zj-platform", number=number, event_id="corr-dup",
                                      type="correction_requested", occurred_at=NOW + timedelta(days=3))
    assert (stale.applied, stale.outcome) == (False, rules.STALE)  # from the round before the resubmission


async def test_resubmission_is_refused_unless_a_correction_was_requested(service, alice):
    number = (await _submit(service)).application.number
    with pytest.raises(errors.TransitionNotAllowed):
        await service.resubmit(person_id="p_alice", number=number, form=FORM, materials=[])


async def test_overdue_is_flagged_once_the_promised_limit_passes(service, alice, clock):
    number = (await _submit(service)).application.number
    await _event(service, number, "accepted")  # due Wed 2 Dec
    clock.advance(5 * 86400)  # Wed 2 Dec: still on time
    assert not (await service.detail(person_id="p_alice", number=number)).overdue
    assert await service.flag_overdue() == {"flagged": 0}
    clock.advance(86400)  # Thu 3 Dec
    assert (await service.detail(person_id="p_alice", number=number)).overdue
    assert await service.flag_overdue() == {"flagged": 1}
    assert (await Application.get(number=number)).overdue
    await service.apply_event(node_code="zj-platform", number=number, event_id="late", type="approved",
                              occurred_at=clock.now())
    assert (await service.detail(person_id="p_alice", number=number)).overdue  # stays on record
