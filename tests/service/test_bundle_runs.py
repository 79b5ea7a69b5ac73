"""The three demo bundles end to end through the REAL department stub (a process answering as
zj-platform over HTTP, issuing e-licenses through /gov/v1), the real outbox relay and the bundle
job: steps in dependency order and in parallel, outputs in the wallet and in later steps' forms,
the second parent's confirmation, a department down mid-bundle, a step refused for good."""
from __future__ import annotations

from datetime import timedelta

import pytest

from domain.applications.models import Application
from domain.bundles import rules
from domain.bundles.models import BundleRun
from domain.delivery.models import Delivery
from tests.support.bundles import (
    CLOSING_FORM,
    NEWBORN_FORM,
    OPENING_FORM,
    HubSocket,
    citizen,
    drive,
    setup_bundles,
    statuses,
)
from tests.support.citizens import ALICE, BOB
from tests.support.department_stub import running_stub

DONE = rules.DONE


@pytest.fixture
async def hub(app):
    async with HubSocket(app) as socket:
        yield socket


@pytest.fixture
def stub(hub):
    from tests.support.department_stub import NODE, NODE_PRIVATE_KEY

    with running_stub(hub_url=hub.url, delay=0.02, nodes={NODE: NODE_PRIVATE_KEY}) as running:
        yield running


@pytest.fixture
async def bundles(resources, stub):
    await setup_bundles(resources, stub.endpoint())
    return resources.bundles


async def submit(bundles, person, code, form, key="k1", optional=()):
    result = await bundles.submit(person_id=person, channel="app", code=code, form=form,
                                  optional_steps=list(optional), idempotency_key=key)
    return result.run


async def wallet_types(resources, person) -> set[str]:
    return {s.type_code for s in await resources.licenses.wallet(person_id=person)}


async def test_newborn_waits_for_the_other_parent_then_runs_every_step(resources, bundles, stub):
    mother, father = await citizen(resources, ALICE), await citizen(resources, BOB)
    run = await submit(bundles, mother, "newborn", NEWBORN_FORM, optional=["vaccination"])
    assert statuses(run)["maternity_allowance"] == rules.SKIPPED
    run = await drive(resources, mother, run.number,
                      until=lambda r: statuses(r)["birth_registration"] == rules.WAITING_CONFIRMATION)
    assert run.status == rules.WAITING_CONFIRMATION
    assert statuses(run)["birth_certificate"] == DONE  # the step before the confirmation went ahead
    assert await Application.filter(matter_code="330106-BDL-0002").count() == 0  # nothing before consent

    [waiting] = await bundles.confirmations(person_id=father)
    assert (waiting.number, waiting.facts["child_name"]) == (run.number, "王小丽")
    assert await bundles.confirmations(person_id=mother) == []  # the applicant confirms nothing herself
    await bundles.confirm(person_id=father, number=run.number, decision="confirmed", digest=waiting.digest)

    run = await drive(resources, mother, run.number, until=lambda r: r.status == rules.COMPLETED)
    assert statuses(run) == {"birth_certificate": DONE, "birth_registration": DONE, "social_security_card": DONE,
                             "medical_insurance": DONE, "vaccination": DONE, "maternity_allowance": rules.SKIPPED}
    # in dependency order: each step submitted after the one it waits for finished
    by_key = {s.key: s for s in run.steps}
    for step in (s for s in run.steps if s.status == DONE):
        for dep in step.after:
            assert by_key[dep].finished_at <= step.submitted_at
    # one application per step, each delivered and processed once
    assert await Application.filter(person_id=mother).count() == 5
    assert set(stub.processed().values()) == {1}
    # outputs: the birth certificate (the mother's) and the vaccination record (the guardian's)
    assert {"birth_medical_certificate", "vaccination_certificate"} <= await wallet_types(resources, mother)
    assert by_key["birth_registration"].outputs["reference"] == f"zj-platform:{by_key['birth_registration'].application_number}"
    # the social security step got the household registration's reference
    card = await resources.applications.detail(person_id=mother,
                                                           number=by_key["social_security_card"].application_number)
    assert card.form["household_reference"] == by_key["birth_registration"].outputs["reference"]


async def test_company_opening_runs_branches_in_parallel_and_fills_the_credit_code(resources, bundles, stub):
    person = await citizen(resources, ALICE)
    run = await submit(bundles, person, "company_opening", OPENING_FORM)
    run = await drive(resources, person, run.number, until=lambda r: r.status == rules.COMPLETED)
    assert set(statuses(run).values()) == {DONE}
    by_key = {s.key: s for s in run.steps}
    license_out = by_key["business_license"].outputs["licenses"]["business_license"]
    credit_code = license_out["data"]["credit_code"]
    assert credit_code.startswith("91330106")
    for key in ("company_seal", "tax_registration", "social_security_account", "housing_fund_account",
                "bank_appointment"):
        form = (await resources.applications.detail(
            person_id=person, number=by_key[key].application_number)).form
        assert form["credit_code"] == credit_code, key
    # the three branches after the license started together, not one after another
    first_wave = [by_key[k].submitted_at for k in ("company_seal", "social_security_account", "bank_appointment")]
    assert max(first_wave) < by_key["company_seal"].finished_at
    assert {"business_license", "company_seal_filing", "social_insurance_registration",
            "housing_fund_unit_registration"} <= await wallet_types(resources, person)
    assert await Application.filter(person_id=person).count() == 6


async def test_company_closing_is_prefilled_from_the_wallet_and_runs_in_order(resources, bundles, stub):
    person = await citizen(resources, ALICE)
    opened = await submit(bundles, person, "company_opening", OPENING_FORM, key="open")
    await drive(resources, person, opened.number, until=lambda r: statuses(r)["business_license"] == DONE)
    form = await bundles.prefilled(person_id=person, code="company_closing")
    assert form.sources["credit_code"] == "license.business_license.credit_code"
    assert form.values["company_name"] == OPENING_FORM["company_name"]
    assert form.values["legal_representative_id_number"] == "110105********0017"  # masked; the hub fills it
    assert form.sources["business_license_id"] == "license.business_license.license_id"
    answers = {**CLOSING_FORM, **{name: form.values[name] for name in ("credit_code", "company_name",
                                                                        "business_license_id")}}
    run = await submit(bundles, person, "company_closing", answers, key="close")
    run = await drive(resources, person, run.number, until=lambda r: r.status == rules.COMPLETED)
    by_key = {s.key: s for s in run.steps}
    assert by_key["tax_clearance"].finished_at <= min(by_key["social_security_closure"].submitted_at,
                                                      by_key["housing_fund_closure"].submitted_at)
    assert max(by_key["social_security_closure"].finished_at,
               by_key["housing_fund_closure"].finished_at) <= by_key["license_cancellation"].submitted_at
    # the market regulator cancelled the business license on approving the deregistration
    license_id = form.values["business_license_id"]
    detail = await resources.licenses.detail(person_id=person, license_id=license_id)
    assert detail.summary.status == "cancelled"


async def test_a_department_down_mid_bundle_waits_and_resumes_with_nothing_twice(resources, bundles, stub):
    person = await citizen(resources, ALICE)
    run = await submit(bundles, person, "company_opening", OPENING_FORM)
    run = await drive(resources, person, run.number, until=lambda r: statuses(r)["business_license"] == DONE)
    stub.fault("down")  # until cleared: connections dropped, nothing answered
    delivery = resources.delivery
    for _ in range(3):
        await delivery.drain(batch=100, budget_seconds=2)
        await bundles.advance_due()
    run = await bundles.run(person_id=person, number=run.number)
    waiting = {k: s for k, s in statuses(run).items() if s == rules.IN_PROGRESS}
    assert set(waiting) == {"company_seal", "social_security_account", "bank_appointment"}
    assert run.status == rules.RUNNING
    assert await Delivery.filter(status="pending", attempts__gte=1).count() == 3  # retrying, not lost
    stub.clear_fault()
    # the backoff has run out (5 to 10 s): the relay sends them again
    await Delivery.filter(status="pending").update(next_attempt_at=resources.clock.now()
                                                   - timedelta(seconds=1))
    run = await drive(resources, person, run.number, until=lambda r: r.status == rules.COMPLETED)
    assert await Application.filter(person_id=person).count() == 6  # one per step, none submitted twice
    assert set(stub.processed().values()) == {1}


async def test_a_step_refused_for_good_keeps_the_others_undoes_the_appointment_and_retries_alone(
        resources, bundles, stub):
    person = await citizen(resources, ALICE)
    run = await submit(bundles, person, "company_opening", {**OPENING_FORM, "tax_contact": "DEMO-REFUSE"})
    run = await drive(resources, person, run.number,
                      until=lambda r: r.status == rules.FAILED_RUN and statuses(r)["bank_appointment"] == rules.COMPENSATED
                      and statuses(r)["housing_fund_account"] == DONE)
    by_key = {s.key: s for s in run.steps}
    assert statuses(run) == {"business_license": DONE, "company_seal": DONE, "tax_registration": rules.FAILED,
                             "social_security_account": DONE, "housing_fund_account": DONE,
                             "bank_appointment": rules.COMPENSATED}
    failure = by_key["tax_registration"].failure
    assert failure["code"] == "refused" and "不予许可" in failure["reason"] and failure["advice"]
    assert run.failed_steps == ("tax_registration",) and run.allowed_actions == ("retry",)
    # the compensation is an application of its own: the appointment's cancellation
    cancel = await Application.get(number=by_key["bank_appointment"].compensation_number)
    assert cancel.matter_code == "330106-BDL-0107"
    assert any("撤销" in e.message for e in run.events)

    run = await resources.bundles.retry(person_id=person, number=run.number,
                                                    form_changes={"tax_contact": "张丽"})
    run = await drive(resources, person, run.number, until=lambda r: r.status == rules.COMPLETED)
    by_key = {s.key: s for s in run.steps}
    assert (by_key["tax_registration"].attempt, by_key["bank_appointment"].attempt) == (2, 2)
    assert by_key["business_license"].attempt == 1
    assert by_key["tax_registration"].history[0]["status"] == rules.FAILED
    # never a second business license or seal: done steps are not redone
    assert await Application.filter(person_id=person, matter_code="330106-BDL-0101").count() == 1
    assert await Application.filter(person_id=person, matter_code="330106-BDL-0102").count() == 1
    assert await Application.filter(person_id=person, matter_code="330106-BDL-0103").count() == 2
    assert await BundleRun.all().count() == 1


async def test_a_declined_confirmation_stops_household_registration_and_says_why(resources, bundles, stub):
    mother, father = await citizen(resources, ALICE), await citizen(resources, BOB)
    run = await submit(bundles, mother, "newborn", NEWBORN_FORM)
    await drive(resources, mother, run.number,
                until=lambda r: statuses(r)["birth_registration"] == rules.WAITING_CONFIRMATION)
    await bundles.confirm(person_id=father, number=run.number, decision="declined")
    run = await bundles.run(person_id=mother, number=run.number)
    assert run.status == rules.FAILED_RUN
    assert statuses(run)["birth_registration"] == rules.FAILED
    assert statuses(run)["social_security_card"] == rules.BLOCKED
    assert {s.key: s.failure for s in run.steps}["birth_registration"]["code"] == "confirmation_declined"
    assert await Application.filter(matter_code="330106-BDL-0002").count() == 0
