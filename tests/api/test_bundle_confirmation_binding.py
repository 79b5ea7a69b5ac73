"""A confirmation binds what was confirmed (issue #12, item 2), over HTTP on the channels with the
REAL department stub deciding the steps: after the father confirmed and household registration
was refused, a retry naming another father (and another address) voids the confirmation, asks
the new father, and the old one can no longer confirm; facts already sent cannot be changed; the
runner itself refuses a confirmation that does not carry the digest of what the form now says."""
from __future__ import annotations

import asyncio
import time

import pytest

from domain.applications.models import Application
from domain.bundles.models import BundleEvent, BundleRun
from tests.support.bundles import NEWBORN_FORM, HubSocket, setup_bundles
from tests.support.citizens import ALICE, BOB, CAROL, bearer, login_app, login_wechat, verify_real_name
from tests.support.department_stub import NODE, NODE_PRIVATE_KEY, running_stub

REGISTRATION = "330106-BDL-0002"  # the household registration matter (the step that needs the father)


@pytest.fixture
async def hub(app):
    async with HubSocket(app) as socket:
        yield socket


@pytest.fixture
async def seeded(resources, hub):
    with running_stub(hub_url=hub.url, delay=0.02, nodes={NODE: NODE_PRIVATE_KEY}) as stub:
        await setup_bundles(resources, stub.endpoint())
        yield stub


async def _wechat(client, mock_url, user, who) -> dict:
    session = await login_wechat(client, mock_url, user)
    verified = await verify_real_name(client, "/wx/v1", session, who)
    assert verified.status_code == 200, verified.text
    return bearer(verified.json()["session"] or session)


async def _app(client, mock_url, who) -> dict:
    session = await login_app(client, mock_url, phone=who["phone"])
    verified = await verify_real_name(client, "/app/v1", session, who)
    assert verified.status_code == 200, verified.text
    return {**bearer(verified.json()["session"] or session), "X-Device-Id": "device-1"}


async def _settle(resources, client, headers, number, until, timeout=30.0) -> dict:
    """Run the relay and the bundle job as the scheduler would, reading the run over HTTP."""
    deadline = time.monotonic() + timeout
    while True:
        await resources.delivery.drain(batch=100, budget_seconds=2)
        await resources.bundles.advance_due()
        run = (await client.get(f"/wx/v1/bundle-runs/{number}", headers=headers)).json()
        if until(run):
            return run
        assert time.monotonic() < deadline, (run["status"], _steps(run))
        await asyncio.sleep(0.1)


def _steps(run: dict) -> dict[str, str]:
    return {s["key"]: s["status"] for s in run["steps"]}


async def _confirm(client, headers, number) -> dict:
    [waiting] = [w for w in (await client.get("/app/v1/bundle-confirmations", headers=headers)).json()["items"]
                 if w["number"] == number]
    answer = await client.post(f"/app/v1/bundle-confirmations/{number}", headers=headers,
                               json={"decision": "confirm", "digest": waiting["digest"]})
    assert answer.status_code == 200, answer.text
    return waiting


async def _refused_after_confirmation(resources, client, mock_url, form) -> tuple[dict, dict, str]:
    """The mother submits, the father confirms, and a later step is refused for good."""
    mother = await _wechat(client, mock_url, "alice", ALICE)
    submitted = await client.post("/wx/v1/bundles/newborn/submissions", json={"form": form},
                                  headers={**mother, "Idempotency-Key": "baby"})
    assert submitted.status_code == 201, submitted.text
    number = submitted.json()["number"]
    await _settle(resources, client, mother, number,
                  until=lambda r: _steps(r)["birth_registration"] == "waiting_confirmation")
    father = await _app(client, mock_url, BOB)
    await _confirm(client, father, number)
    await _settle(resources, client, mother, number, until=lambda r: r["status"] == "failed")
    return mother, father, number


async def test_a_retry_naming_another_father_asks_him_and_not_the_one_who_confirmed(
        resources, client, mock_url, seeded):
    mother, bob, number = await _refused_after_confirmation(
        resources, client, mock_url, {**NEWBORN_FORM, "household_head": "DEMO-REFUSE"})
    assert await Application.filter(matter_code=REGISTRATION).count() == 1  # the refused one

    changes = {"father_id_number": CAROL["id_number"], "father_name": CAROL["name"], "household_head": CAROL["name"],
               "household_address": "浙江省杭州市西湖区天目山路8号"}
    retried = await client.post(f"/wx/v1/bundle-runs/{number}/retry", json={"form": changes}, headers=mother)
    assert retried.status_code == 200, retried.text
    run = (await client.get(f"/wx/v1/bundle-runs/{number}", headers=mother)).json()
    assert run["confirmation"] is None and run["status"] == "waiting_confirmation"
    assert _steps(run)["birth_registration"] == "waiting_confirmation"
    assert await Application.filter(matter_code=REGISTRATION).count() == 1  # nothing resubmitted unasked

    # the father who confirmed the old facts is no longer asked, and cannot confirm the new ones
    assert (await client.get("/app/v1/bundle-confirmations", headers=bob)).json()["items"] == []
    stale = await client.post(f"/app/v1/bundle-confirmations/{number}", headers=bob,
                              json={"decision": "confirm", "digest": "0" * 64})
    assert (stale.status_code, stale.json()["code"]) == (404, "bundle_confirmation_not_found")

    # the father now named sees exactly what he confirms, and only with its digest may he confirm
    carol = await _app(client, mock_url, CAROL)
    [waiting] = (await client.get("/app/v1/bundle-confirmations", headers=carol)).json()["items"]
    assert waiting["facts"]["household_address"] == changes["household_address"]
    assert waiting["facts"]["father_id_number"] == "310115********0037"  # masked
    bare = await client.post(f"/app/v1/bundle-confirmations/{number}", json={"decision": "confirm"}, headers=carol)
    assert (bare.status_code, bare.json()["code"]) == (400, "invalid_input")
    forged = await client.post(f"/app/v1/bundle-confirmations/{number}", headers=carol,
                               json={"decision": "confirm", "digest": "0" * 64})
    assert (forged.status_code, forged.json()["code"]) == (409, "bundle_confirmation_changed")
    await _confirm(client, carol, number)

    run = await _settle(resources, client, mother, number,
                        until=lambda r: _steps(r)["birth_registration"] == "done")
    row = await Application.get(number=next(s for s in run["steps"]
                                            if s["key"] == "birth_registration")["application_number"])
    registration = await resources.applications.detail(person_id=row.person_id, number=row.number)
    assert registration.form["father_id_number"] == CAROL["id_number"]  # the father who confirmed
    assert await BundleEvent.filter(run__number=number, kind="confirmation_voided").count() == 1


async def test_facts_a_step_already_sent_cannot_be_changed_by_a_retry(resources, client, mock_url, seeded):
    # the social security card (after household registration) is refused: registration is done
    mother, _bob, number = await _refused_after_confirmation(
        resources, client, mock_url, {**NEWBORN_FORM, "mailing_address": "DEMO-REFUSE"})
    before = await BundleRun.get(number=number)
    refused = await client.post(f"/wx/v1/bundle-runs/{number}/retry", headers=mother,
                                json={"form": {"father_id_number": CAROL["id_number"], "mailing_address": "文三路1号"}})
    assert (refused.status_code, refused.json()["code"]) == (409, "bundle_confirmed_facts_sent")
    assert refused.json()["fields"] == ["form.father_id_number"]
    after = await BundleRun.get(number=number)
    assert (after.form_sealed, after.confirmation, after.version) == (before.form_sealed, "confirmed", before.version)
    # what was not confirmed can still be corrected, and the confirmation stays
    fixed = await client.post(f"/wx/v1/bundle-runs/{number}/retry", headers=mother,
                              json={"form": {"mailing_address": "浙江省杭州市西湖区文三路1号"}})
    assert fixed.status_code == 200, fixed.text
    run = await _settle(resources, client, mother, number, until=lambda r: r["status"] == "completed")
    assert run["confirmation"] == "confirmed"


async def test_the_runner_submits_nothing_on_a_confirmation_without_the_digest_of_the_facts(
        resources, client, mock_url, seeded):
    # a run confirmed before confirmations carried a digest (or whose digest no longer matches)
    mother, bob, number = await _refused_after_confirmation(
        resources, client, mock_url, {**NEWBORN_FORM, "household_head": "DEMO-REFUSE"})
    await BundleRun.filter(number=number).update(confirmation_digest=None)
    retried = await client.post(f"/wx/v1/bundle-runs/{number}/retry", json={}, headers=mother)  # nothing changed
    assert retried.status_code == 200, retried.text
    run = await _settle(resources, client, mother, number,
                        until=lambda r: _steps(r)["birth_registration"] == "waiting_confirmation")
    assert run["confirmation"] is None
    assert await Application.filter(matter_code=REGISTRATION).count() == 1
    await _confirm(client, bob, number)  # the same father, asked again, confirms what the form says now
    await _settle(resources, client, mother, number,
                  until=lambda r: _steps(r)["birth_registration"] in ("in_progress", "failed"))
    assert await Application.filter(matter_code=REGISTRATION).count() == 2
