"""Applications on the database: submission (idempotency under concurrency, numbers, routing,
validation that stores nothing), the citizen's own view, withdrawal, correction, node events,
deadlines, uploads and the seams for instant approval and notifications."""
from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.storage.local import LocalMaterialStore
from domain.applications import errors, rules, working_days
from domain.applications.models import Application, Material, NodeEvent, Transition
from domain.applications.ports import ApprovalDecision, LicenseRef, TransitionListeners
from domain.applications.service import ApplicationService
from domain.applications.views import ListFilters
from domain.catalog.errors import MatterNotFound
from domain.delivery.models import Delivery
from domain.identity.errors import AssuranceRequired
from domain.shared.errors import EventIdReused, IdempotencyKeyRequired, IdempotencyKeyReused
from domain.shared.models import IdempotencyKey
from tests.support.applications import FORM, JPEG, PDF, setup_catalog_and_nodes, verified_person

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday 10:00 in Beijing
pytestmark = pytest.mark.frozen_at(NOW)
FUND = "330100-NAT-0001"


class Wallet:
    """A wallet holding one resident ID card for alice."""

    async def holds(self, *, person_id: str, license_id: str) -> LicenseRef | None:
        if person_id == "p_alice" and license_id == "lic-id-alice":
            return LicenseRef(license_id, "resident_id_card", "居民身份证")
        return None


@pytest.fixture
async def nodes(resources):
    return await setup_catalog_and_nodes(resources)


@pytest.fixture
async def service(resources, clock, tmp_path, nodes):
    return _service(resources, clock, tmp_path)


def _service(hub, clock, tmp_path, **ports) -> ApplicationService:
    return ApplicationService(clock=clock, vault=hub.vault, catalog=hub.catalog, nodes=hub.nodes,
                              identity=hub.identity, delivery=hub.delivery, store=LocalMaterialStore(tmp_path),
                              wallet=Wallet(), upload_max_bytes=4096, **ports)


@pytest.fixture
async def alice(resources):
    return await verified_person(resources, "p_alice")


@pytest.fixture
async def bob(resources):
    return await verified_person(resources, "p_bob", name="王强")


async def _upload(service, person="p_alice", data=PDF):
    return (await service.upload_material(person_id=person, data=data, filename="合同.pdf")).id


async def _submit(service, person="p_alice", key="k-1", matter=FUND, form=FORM, materials=None, channel="wechat"):
    if materials is None:
        materials = [{"name": "居民身份证", "license_id": "lic-id-alice"},
                     {"name": "购房合同", "upload_id": await _upload(service, person)}]
    return await service.submit(person_id=person, channel=channel, matter_code=matter, form=form,
                                materials=materials, idempotency_key=key)


async def _event(service, number, type_, *, node="zj-platform", event_id=None, minutes=0, **extra):
    return await service.apply_event(node_code=node, number=number, event_id=event_id or f"ev-{type_}",
                                     type=type_, occurred_at=NOW + timedelta(minutes=minutes), **extra)


# --- submit -----------------------------------------------------------------------------------


async def test_submit_stores_the_application_its_transition_and_its_delivery_together(service, alice):
    result = await _submit(service)
    app = result.application
    assert not result.replayed
    assert re.fullmatch(r"330100-20261127-\d{6}", app.number) and app.number.endswith("000001")
    assert (app.status, app.node_code, app.channel) == (rules.SUBMITTED, "zj-platform", "wechat")
    assert app.node_name == "测试节点 zj-platform"
    assert (app.due_on, app.calendar_basis) == (date(2026, 12, 2), working_days.OFFICIAL)  # 3 working days, provisional
    assert [t.name for t in app.timeline] == ["submit"] and app.timeline[0].actor_kind == "citizen"
    assert app.form == FORM and {m.slot for m in app.materials} == {"居民身份证", "购房合同"}
    assert app.allowed_actions == ("withdraw",)
    stored = await Application.get(number=app.number)
    assert "6222020000000000001" not in stored.form_sealed  # personal data sealed at rest
    delivery = await Delivery.get(dedupe_key=f"application:{app.number}:submitted")
    assert (delivery.kind, delivery.target, delivery.status) == ("node.application.submitted", "zj-platform", "pending")
    payload = service.delivery.payload_of(delivery)
    assert delivery.payload is None and "6222020000000000001" not in delivery.payload_sealed  # sealed at rest
    assert payload["callback"] == f"/gov/v1/applications/{app.number}/events"
    assert payload["applicant"]["name_masked"] == "*丽" and payload["applicant"]["assurance"] == "L2"
    assert payload["applicant"]["person_ref"].startswith("pr_") and "p_alice" not in str(payload)
    assert payload["promised_due_on"] == "2026-12-02" and payload["form"] == FORM
    upload = next(m for m in payload["materials"] if m["kind"] == "upload")
    assert upload["download"] == f"/gov/v1/applications/{app.number}/materials/{upload['id']}"


async def test_a_department_node_is_preferred_to_the_province(service, alice):
    result = await _submit(service, matter="330106-NAT-0023")
    assert result.application.node_code == "330106-market_supervision"
    assert result.application.number.startswith("330106-20261127-")


async def test_the_same_key_and_body_answers_the_first_result(service, alice):
    materials = [{"name": "居民身份证", "license_id": "lic-id-alice"}, {"name": "购房合同", "upload_id": await _upload(service)}]
    first = await _submit(service, materials=materials)
    again = await _submit(service, materials=list(reversed(materials))[::-1])
    assert again.replayed and again.application.number == first.application.number
    assert await Application.all().count() == 1 and await Delivery.all().count() == 1


async def test_the_same_key_with_another_body_is_refused_and_stores_nothing(service, alice):
    await _submit(service)
    with pytest.raises(IdempotencyKeyReused) as caught:
        await _submit(service, form={**FORM, "amount_fen": 1})
    assert caught.value.kind == "conflict"
    assert await Application.all().count() == 1 and await IdempotencyKey.all().count() == 1


async def test_fifty_concurrent_identical_submits_make_one_application(service, alice):
    materials = [{"name": "居民身份证", "license_id": "lic-id-alice"}, {"name": "购房合同", "upload_id": await _upload(service)}]
    results = await asyncio.gather(*[_submit(service, key="same-key", materials=materials) for _ in range(50)])
    assert len({r.application.number for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert await Application.all().count() == 1
    assert await Delivery.filter(kind="node.application.submitted").count() == 1
    assert await Transition.all().count() == 1


async def test_concurrent_different_submissions_get_distinct_consecutive_numbers(service, alice):
    async def one(i):
        return await _submit(service, key=f"k-{i}", materials=[
            {"name": "居民身份证", "license_id": "lic-id-alice"}, {"name": "购房合同", "upload_id": await _upload(service)}])

    results = await asyncio.gather(*[one(i) for i in range(20)])
    numbers = sorted(r.application.number for r in results)
    assert numbers == [f"330100-20261127-{n:06d}" for n in range(1, 21)]


async def test_a_new_day_starts_a_new_sequence(service, alice, clock):
    first = await _submit(service, key="a")
    clock.advance(16 * 3600)  # past midnight in Beijing
    second = await _submit(service, key="b")
    assert first.application.number == "330100-20261127-000001"
    assert second.application.number == "330100-20261128-000001"


@pytest.mark.parametrize(("form", "field"), [({"amount_fen": 0, "bank_account": "1"}, "form.amount_fen"),
                                             ({"bank_account": "6222020000000000001"}, "form.amount_fen")])
async def test_an_invalid_form_names_its_fields_and_stores_nothing(service, alice, form, field):
    with pytest.raises(errors.FormInvalid) as caught:
        await _submit(service, form=form)
    assert field in {e["field"] for e in caught.value.extra["errors"]}
    assert await Application.all().count() == 0 and await IdempotencyKey.all().count() == 0


async def test_materials_must_be_complete_owned_and_unused(service, alice, bob):
    with pytest.raises(errors.MaterialsInvalid) as caught:
        await _submit(service, materials=[{"name": "居民身份证", "license_id": "someone-elses"}])
    messages = {e["message"] for e in caught.value.extra["errors"]}
    assert "电子证照夹中没有该证照或证照已失效" in messages and "缺少必需材料：购房合同" in messages
    bobs_file = await _upload(service, "p_bob")
    with pytest.raises(errors.MaterialsInvalid):  # another person's upload is as good as none
        await _submit(service, materials=[{"name": "居民身份证", "license_id": "lic-id-alice"},
                                          {"name": "购房合同", "upload_id": bobs_file}])
    used = await _upload(service)
    await _submit(service, key="first", materials=[{"name": "居民身份证", "license_id": "lic-id-alice"},
                                                   {"name": "购房合同", "upload_id": used}])
    with pytest.raises(errors.MaterialsInvalid) as caught:
        await _submit(service, key="second", materials=[{"name": "居民身份证", "license_id": "lic-id-alice"},
                                                        {"name": "购房合同", "upload_id": used}])
    assert {"field": "materials[1]", "message": "该文件已用于其他办件"} in caught.value.extra["errors"]
    assert await Application.all().count() == 1


async def test_refusals_before_anything_is_stored(service, alice, resources):
    with pytest.raises(errors.NoHandlingNode):
        await _submit(service, matter="110000-NAT-0001")
    with pytest.raises(errors.MatterNotOnline):
        await _submit(service, matter="330100-NAT-0006")
    with pytest.raises(MatterNotFound):
        await _submit(service, matter="999999-NOPE")
    with pytest.raises(IdempotencyKeyRequired):
        await _submit(service, key=None)
    await verified_person(resources, "p_carol", assurance=1)
    with pytest.raises(AssuranceRequired):  # a submission that is right in every other way
        await _submit(service, person="p_carol", materials=[
            {"name": "居民身份证", "upload_id": await _upload(service, "p_carol")},
            {"name": "购房合同", "upload_id": await _upload(service, "p_carol")}])
    assert await Application.all().count() == 0 and await Delivery.all().count() == 0


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


# --- node events ------------------------------------------------------------------------------


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


# --- uploads ----------------------------------------------------------------------------------


async def test_uploads_are_checked_and_kept_by_the_store(service, alice, tmp_path):
    view = await service.upload_material(person_id="p_alice", data=PDF, filename="../合同.pdf")
    assert (view.content_type, view.size, view.filename, view.slot) == ("application/pdf", len(PDF), "合同.pdf", None)
    stored = await Material.get(public_id=view.id)
    assert (tmp_path / stored.storage_key).read_bytes() == PDF
    with pytest.raises(errors.MaterialTypeNotAllowed):
        await service.upload_material(person_id="p_alice", data=b"<html>not a scan</html>", filename="a.pdf")
    with pytest.raises(errors.MaterialTooLarge):
        await service.upload_material(person_id="p_alice", data=PDF + b"0" * 5000, filename="big.pdf")
    assert await Material.all().count() == 1


async def test_uploads_no_application_took_within_a_day_are_deleted_file_and_row(service, alice, clock, tmp_path):
    used = await _submit(service)  # its upload is attached: kept
    kept_upload = await Material.get(kind="upload", application_id__not_isnull=True)
    unused = await _upload(service)
    unused_file = tmp_path / (await Material.get(public_id=unused)).storage_key
    assert unused_file.exists()
    clock.advance(23 * 3600)
    recent = await _upload(service)
    assert await service.purge_unused_uploads() == {"purged": 0}  # nothing a day old yet
    clock.advance(3600 + 1)
    assert await service.purge_unused_uploads() == {"purged": 1}
    left = {m.public_id for m in await Material.filter(kind="upload")}
    assert left == {kept_upload.public_id, recent}
    assert not unused_file.exists() and (tmp_path / kept_upload.storage_key).exists()
    assert (await service.detail(person_id="p_alice", number=used.application.number)).materials


async def test_the_handling_node_fetches_uploaded_material(service, alice):
    app = (await _submit(service)).application
    upload = next(m for m in app.materials if m.kind == "upload")
    content = await service.material_for_node(node_code="zj-platform", number=app.number, material_id=upload.id)
    assert (content.data, content.content_type) == (PDF, "application/pdf")
    with pytest.raises(errors.ApplicationNotFound):
        await service.material_for_node(node_code="bj-psb", number=app.number, material_id=upload.id)


# --- seams: instant approval and notifications ------------------------------------------------


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
