"""Each capability owns its entry points (issue #12), on the real database with the demo bundles
seeded for real: a bundle never submits a matter another capability owns (and its retry refuses
it before resetting anything), the plain route never submits a bundle's step, and an application
a bundle submitted takes no new form through the generic resubmission."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from domain.applications import rules
from domain.applications.errors import MatterEntryNotAllowed
from domain.applications.models import Application
from domain.applications.service import ApplicationService
from domain.bundles import rules as bundle_rules
from domain.bundles.demo import MATTERS
from domain.bundles.models import BundleRun, BundleStep
from domain.bundles.service import BundleService
from tests.support.bundles import NEWBORN_FORM, citizen, setup_bundles, statuses
from tests.support.citizens import ALICE
from tests.support.department_stub import NODE

NOWHERE = f"http://127.0.0.1:9/nodes/{NODE}"  # deliveries wait in the outbox: no relay runs here


def _seed_record(code: str) -> dict:
    return next(r for r in map(json.loads, MATTERS.read_text(encoding="utf-8").splitlines()) if r["code"] == code)


@pytest.fixture
async def mother(resources):
    await setup_bundles(resources, NOWHERE)
    return await citizen(resources, ALICE)


def _own_services(resources) -> BundleService:
    """The bundles and applications services afresh: their few seconds' memo of matters (the
    session's services keep one) must not carry this test's changed matter into other tests."""
    apps, shared = resources.applications, resources.bundles
    fresh = ApplicationService(clock=apps.clock, vault=apps.vault, catalog=apps.catalog, nodes=apps.nodes,
                               identity=apps.identity, delivery=apps.delivery, store=apps.materials.store,
                               wallet=apps.materials.wallet)
    return BundleService(clock=shared.clock, vault=shared.vault, catalog=shared.catalog, applications=fresh,
                         identity=shared.identity, licenses=shared.licenses)


async def test_a_bundle_never_submits_a_matter_another_capability_owns_and_its_retry_refuses_it(resources, mother):
    # the first step's matter re-imported as the fund's own (a catalog mistake, or a malicious declaration)
    record = {**_seed_record("330106-BDL-0001"), "entry": "housing_fund"}
    report = await resources.catalog.upsert([record])
    assert report.updated == 1
    bundles = _own_services(resources)
    run = (await bundles.submit(person_id=mother, channel="app", code="newborn", form=NEWBORN_FORM,
                                optional_steps=[], idempotency_key="k1")).run
    assert statuses(run)["birth_certificate"] == bundle_rules.FAILED
    step = next(s for s in run.steps if s.key == "birth_certificate")
    assert "不能在此办理" in step.failure["reason"]
    assert await Application.filter(matter_code="330106-BDL-0001").count() == 0
    before = await BundleRun.get(number=run.number)
    with pytest.raises(MatterEntryNotAllowed) as refused:
        await bundles.retry(person_id=mother, number=run.number)
    assert refused.value.extra["route"] == "POST /housing-fund/withdrawals"
    after = await BundleRun.get(number=run.number)  # refused before anything was reset
    assert (after.version, after.status) == (before.version, before.status)
    assert (await BundleStep.get(run_id=after.id, key="birth_certificate")).attempt == step.attempt


async def test_the_plain_route_never_submits_a_bundles_step(resources, mother):
    with pytest.raises(MatterEntryNotAllowed) as refused:
        await resources.applications.submit(
            person_id=mother, channel="app", matter_code="330106-BDL-0001", form={}, materials=[],
            idempotency_key="plain-1", entry=rules.PLAIN)
    assert refused.value.extra["entry"] == "bundle"
    assert refused.value.extra["route"] == "POST /bundles/{code}/submissions"
    assert await Application.all().count() == 0


async def test_an_application_a_bundle_submitted_takes_no_new_form_through_the_generic_resubmission(
        resources, mother):
    bundles, applications = resources.bundles, resources.applications
    run = (await bundles.submit(person_id=mother, channel="app", code="newborn", form=NEWBORN_FORM,
                                optional_steps=[], idempotency_key="k1")).run
    number = next(s for s in run.steps if s.key == "birth_certificate").application_number
    assert (await Application.get(number=number)).entry == "bundle"
    for n, event in enumerate(("accepted", "correction_requested")):
        await applications.apply_event(node_code=NODE, number=number, event_id=f"e-{n}", type=event,
                                       occurred_at=datetime(2026, 11, 27, 2, n, tzinfo=UTC), reason="请补正")
    before = await applications.detail(person_id=mother, number=number)
    changed = {**before.form, "father_id_number": "310115199208150037"}  # a person never asked
    with pytest.raises(MatterEntryNotAllowed) as refused:
        await applications.resubmit(person_id=mother, number=number, form=changed, materials=[],
                                    idempotency_key="r-1", entry=rules.PLAIN)
    assert refused.value.extra["entry"] == "bundle"
    after = await applications.detail(person_id=mother, number=number)
    assert (after.status, after.form) == ("correction_requested", before.form)
