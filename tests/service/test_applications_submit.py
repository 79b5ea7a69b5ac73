"""Applications on the database, submission: idempotency under concurrency, numbers, routing
to the handling node, and validation that stores nothing."""
from __future__ import annotations

import asyncio
import re
from datetime import date

import pytest

from domain.applications import errors, rules, working_days
from domain.applications.models import Application, Transition
from domain.catalog.errors import MatterNotFound
from domain.delivery.models import Delivery
from domain.identity.errors import AssuranceRequired
from domain.shared.errors import IdempotencyKeyRequired, IdempotencyKeyReused
from domain.shared.models import IdempotencyKey
from tests.support.application_service import NOW, alice, bob, nodes, service  # noqa: F401  (fixtures)
from tests.support.application_service import submit as _submit
from tests.support.application_service import upload as _upload
from tests.support.applications import FORM, verified_person

pytestmark = pytest.mark.frozen_at(NOW)


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
