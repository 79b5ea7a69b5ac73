"""Applications on the database, the seams for instant approval and notifications: an instant
approval completes within the submission, and a transition listener acts inside its transaction."""
from __future__ import annotations

import pytest

from domain.applications import rules
from domain.applications.models import Application
from domain.applications.ports import ApprovalDecision, TransitionListeners
from domain.delivery.models import Delivery
from domain.shared.models import IdempotencyKey
from tests.support.application_service import NOW, alice, nodes, service  # noqa: F401  (fixtures)
from tests.support.application_service import make_service as _service
from tests.support.application_service import submit as _submit
from tests.support.applications import FORM

pytestmark = pytest.mark.frozen_at(NOW)


class ApproveEverything:
    def __init__(self):
        self.seen = []

    async def decide(self, request, *, connection):
        self.seen.append(request)
        if not request.matter_instant_approval:
            return None
        return ApprovalDecision(approved=True, checks=[{"rule": "assurance", "passed": True, "title": "实名"}],
                                results={"credit_code": "92330106MA2XXXXXXX"})


class Recorder:
    def __init__(self):
        self.notices = []

    async def on_transitions(self, notices, *, connection):
        assert connection is not None  # inside the transaction that makes the change
        self.notices += [(n.number, n.transition, n.to_status, n.channel) for n in notices]


async def test_an_instant_approval_completes_within_the_submission(resources, clock, tmp_path, nodes, alice):
    approver, recorder = ApproveEverything(), Recorder()
    service = _service(resources, clock, tmp_path, approval=approver, listeners=TransitionListeners(recorder))
    instant = (await _submit(service, matter="330106-NAT-0023", key="instant")).application
    assert instant.status == rules.COMPLETED and instant.decision["approved"] is True
    assert [t.name for t in instant.timeline] == ["submit", "accept", "approve", "complete"]
    assert {t.actor_kind for t in instant.timeline[1:]} == {"system"}
    payload = service.delivery.payload_of(await Delivery.get(dedupe_key=f"application:{instant.number}:submitted"))
    assert payload["decision"]["results"] == {"credit_code": "92330106MA2XXXXXXX"}
    manual = (await _submit(service, key="manual")).application
    assert manual.status == rules.SUBMITTED and manual.decision is None
    assert [n[1] for n in recorder.notices] == ["submit", "accept", "approve", "complete", "submit"]
    assert approver.seen[0].form == FORM and approver.seen[0].assurance == 2


async def test_a_failing_listener_rolls_the_whole_change_back(service, alice):
    class Broken:
        async def on_transitions(self, notices, *, connection):
            raise RuntimeError("notification outbox unavailable")

    service.listeners.join(Broken())
    with pytest.raises(RuntimeError):
        await _submit(service)
    assert await Application.all().count() == 0 and await Delivery.all().count() == 0
    assert await IdempotencyKey.all().count() == 0
