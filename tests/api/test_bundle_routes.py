"""Bundles over HTTP on the citizen channels (the form pre-filled from identity and the wallet,
Idempotency-Key under 20 concurrent identical submits, field errors that store nothing, another
person's bundle as 404, the second parent's confirmation) and on /admin/v1 (validation before
publication, audit, roles). No relay runs here: the department side is tests/service/test_bundle_runs.py."""
from __future__ import annotations

import asyncio

import pytest

from domain.applications.models import Application
from domain.audit.models import AuditEntry
from domain.bundles.demo import definitions
from domain.bundles.models import Bundle, BundleRun
from tests.support.admins import admin_headers, cheap_admin_services, make_admin
from tests.support.bundles import NEWBORN_FORM, OPENING_FORM, setup_bundles
from tests.support.citizens import ALICE, BOB, bearer, login_app, login_wechat, verify_real_name
from tests.support.licenses import example

NOWHERE = "http://127.0.0.1:9/nodes/zj-platform"  # deliveries wait in the outbox: nothing relays here


@pytest.fixture
async def seeded(resources):
    await setup_bundles(resources, NOWHERE)


async def _wechat(client, mock_url, user="alice", who=ALICE) -> dict:
    session = await login_wechat(client, mock_url, user)
    verified = await verify_real_name(client, "/wx/v1", session, who)
    assert verified.status_code == 200, verified.text
    return bearer(verified.json()["session"] or session)


async def _app(client, mock_url, phone="13800000002", who=BOB) -> dict:
    session = await login_app(client, mock_url, phone=phone)
    verified = await verify_real_name(client, "/app/v1", session, who)
    assert verified.status_code == 200, verified.text
    return {**bearer(verified.json()["session"] or session), "X-Device-Id": "device-1"}


async def test_bundles_are_listed_without_login_with_their_steps(client, seeded):
    listed = (await client.get("/wx/v1/bundles")).json()["items"]
    assert [b["code"] for b in listed] == ["company_closing", "company_opening", "newborn"]
    detail = (await client.get("/app/v1/bundles/newborn")).json()
    assert [s["key"] for s in detail["steps"]][:2] == ["birth_certificate", "birth_registration"]
    assert detail["confirmation"]["before"] == ["birth_registration"]
    assert (await client.get("/app/v1/bundles/nope")).json()["code"] == "bundle_not_found"


async def test_the_form_is_prefilled_from_identity_and_the_wallet(client, mock_url, resources, seeded):
    await resources.licenses.issue(
        node="zj-platform", type_code="birth_medical_certificate", number="Q330106202611200001",
        data=example("birth_medical_certificate", mother_id_number=ALICE["id_number"], child_name="王小丽",
                     certificate_number="Q330106202611200001"))
    headers = await _wechat(client, mock_url)
    answer = await client.get("/wx/v1/bundles/newborn/form", headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["values"]["applicant_name"] == "*丽"
    assert body["values"]["applicant_id_number"] == "110105********0017"  # masked: the hub fills it itself
    assert set(body["locked"]) == {"applicant_name", "applicant_id_number"}
    assert body["values"]["child_name"] == "王小丽"
    assert body["sources"]["certificate_number"] == "license.birth_medical_certificate.certificate_number"
    log = (await client.get("/wx/v1/license-access-log", headers=headers)).json()
    assert "本人查看" in str(log)  # reading the wallet to pre-fill is logged


async def test_without_real_name_there_is_no_form(client, mock_url, seeded):
    session = await login_wechat(client, mock_url, "carol")
    answer = await client.get("/wx/v1/bundles/newborn/form", headers=bearer(session))
    assert (answer.status_code, answer.json()["code"]) == (403, "assurance_required")


async def test_twenty_concurrent_identical_submits_make_one_bundle(client, mock_url, seeded):
    headers = {**await _wechat(client, mock_url), "Idempotency-Key": "opening-1"}
    body = {"form": OPENING_FORM}
    answers = await asyncio.gather(*(client.post("/wx/v1/bundles/company_opening/submissions", json=body,
                                                 headers=headers) for _ in range(20)))
    assert {a.status_code for a in answers} == {201}, [a.text for a in answers if a.status_code != 201][:2]
    assert len({a.json()["number"] for a in answers}) == 1
    assert sum(a.headers.get("Idempotent-Replayed") == "true" for a in answers) == 19
    assert await BundleRun.all().count() == 1
    assert await Application.filter(matter_code="330106-BDL-0101").count() == 1  # its first step, once
    # the first request's answer: a replay may read the run before its first step is submitted
    shown = next(a for a in answers if a.headers.get("Idempotent-Replayed") != "true").json()
    assert shown["page"].startswith("pages/bundles/detail?no=")
    assert shown["steps"][0]["status"] == "in_progress" and shown["steps"][0]["application_number"]

    again = await client.post("/wx/v1/bundles/company_opening/submissions", headers=headers,
                              json={"form": {**OPENING_FORM, "employees": 9}})
    assert (again.status_code, again.json()["code"]) == (409, "idempotency_key_reused")


async def test_bad_answers_are_named_and_store_nothing(client, mock_url, seeded):
    headers = await _wechat(client, mock_url)
    missing = await client.post("/wx/v1/bundles/company_opening/submissions", json={"form": OPENING_FORM},
                                headers=headers)
    assert missing.json()["code"] == "idempotency_key_required"
    bad = await client.post("/wx/v1/bundles/company_opening/submissions", headers={**headers, "Idempotency-Key": "b"},
                            json={"form": {**OPENING_FORM, "phone": "12", "deposit_rate_percent": 40}})
    assert (bad.status_code, bad.json()["code"]) == (400, "bundle_form_invalid")
    assert {e["field"] for e in bad.json()["errors"]} == {"form.phone", "form.deposit_rate_percent"}
    optional = await client.post("/wx/v1/bundles/newborn/submissions", headers={**headers, "Idempotency-Key": "c"},
                                 json={"form": NEWBORN_FORM, "optional_steps": ["birth_registration"]})
    assert optional.json()["code"] == "bundle_form_invalid"
    stranger = await client.post("/wx/v1/bundles/newborn/submissions", headers={**headers, "Idempotency-Key": "d"},
                                 json={"form": {**NEWBORN_FORM, "mother_id_number": "310115199208150037"}})
    assert stranger.json()["code"] == "bundle_form_invalid"  # the applicant must be a parent
    assert await BundleRun.all().count() == 0 and await Application.all().count() == 0


async def test_the_second_parent_confirms_on_their_own_device(client, mock_url, seeded):
    mother = await _wechat(client, mock_url)
    submitted = await client.post("/wx/v1/bundles/newborn/submissions", json={"form": NEWBORN_FORM},
                                  headers={**mother, "Idempotency-Key": "baby"})
    number = submitted.json()["number"]
    assert submitted.json()["confirmation"] is None
    father = await _app(client, mock_url)
    waiting = (await client.get("/app/v1/bundle-confirmations", headers=father)).json()["items"]
    assert [(w["number"], w["facts"]["child_name"], w["applicant_name_masked"]) for w in waiting] == [
        (number, "王小丽", "*丽")]
    own = await client.post(f"/wx/v1/bundle-confirmations/{number}", json={"decision": "confirm"}, headers=mother)
    assert (own.status_code, own.json()["code"]) == (404, "bundle_confirmation_not_found")
    confirmed = await client.post(f"/app/v1/bundle-confirmations/{number}", headers=father,
                                  json={"decision": "confirm", "digest": waiting[0]["digest"]})
    assert (confirmed.status_code, confirmed.json()["status"]) == (200, "confirmed")
    twice = await client.post(f"/app/v1/bundle-confirmations/{number}", json={"decision": "decline"}, headers=father)
    assert (twice.status_code, twice.json()["code"]) == (409, "bundle_confirmation_closed")
    # the father sees no bundle of his own, and the mother's is 404 to him
    assert (await client.get(f"/app/v1/bundle-runs/{number}", headers=father)).json()["code"] == "bundle_run_not_found"
    detail = (await client.get(f"/wx/v1/bundle-runs/{number}", headers=mother)).json()
    assert detail["confirmation"] == "confirmed"
    retry = await client.post(f"/wx/v1/bundle-runs/{number}/retry", json={}, headers=mother)
    assert (retry.status_code, retry.json()["code"]) == (409, "bundle_run_not_retryable")


async def test_the_app_shows_the_timeline_and_masks_id_numbers(client, mock_url, seeded):
    headers = await _app(client, mock_url, phone="13800000001", who=ALICE)
    submitted = await client.post("/app/v1/bundles/newborn/submissions", json={"form": NEWBORN_FORM},
                                  headers={**headers, "Idempotency-Key": "baby"})
    detail = (await client.get(f"/app/v1/bundle-runs/{submitted.json()['number']}", headers=headers)).json()
    assert detail["link"].startswith("govhub://bundles/")
    assert detail["form"]["mother_id_number"] == "110105********0017"
    assert detail["form"]["father_id_number"] == "330106********0023"
    assert detail["timeline"][0]["message"] == "已提交“新生儿出生一件事”"
    listed = (await client.get("/app/v1/bundle-runs", headers=headers)).json()["items"]
    assert [r["number"] for r in listed] == [detail["number"]]


@pytest.fixture
async def admins(app):
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "editor", "catalog_admin")
        await make_admin(accounts, "ops", "operator")
        yield


async def test_product_teams_validate_and_publish_a_bundle(client, seeded, admins):
    editor = await admin_headers(client, "editor")
    draft = definitions()[1]
    draft["name"] = "企业开办一件事（精简版）"
    del draft["steps"][2]["fields"]["tax_contact"]  # the tax matter requires it
    draft["steps"][0]["after"] = ["bank_appointment"]  # and a cycle
    created = await client.put("/admin/v1/bundles/lite_opening", json={"definition": draft}, headers=editor)
    assert (created.status_code, created.json()["status"], created.json()["version"]) == (201, "draft", 1)
    checked = (await client.get("/admin/v1/bundles/lite_opening/validation", headers=editor)).json()
    assert checked["valid"] is False
    assert [p["message"] for p in checked["problems"]] == [
        "步骤依赖成环：business_license → bank_appointment → business_license"]
    refused = await client.post("/admin/v1/bundles/lite_opening/publication", json={"version": 1}, headers=editor)
    assert (refused.status_code, refused.json()["code"]) == (400, "bundle_invalid")

    draft["steps"][0]["after"] = []
    changed = await client.put("/admin/v1/bundles/lite_opening", json={"definition": draft, "version": 1},
                               headers=editor)
    assert changed.json()["version"] == 2
    checked = (await client.get("/admin/v1/bundles/lite_opening/validation", headers=editor)).json()
    assert [p["field"] for p in checked["problems"]] == ["steps[2].fields.tax_contact"]
    stale = await client.put("/admin/v1/bundles/lite_opening", json={"definition": draft, "version": 1},
                             headers=editor)
    assert stale.json()["code"] == "bundle_version_conflict"

    draft["steps"][2]["fields"]["tax_contact"] = "form.legal_representative"
    await client.put("/admin/v1/bundles/lite_opening", json={"definition": draft, "version": 2}, headers=editor)
    published = await client.post("/admin/v1/bundles/lite_opening/publication", json={"version": 3}, headers=editor)
    assert (published.status_code, published.json()["status"]) == (200, "published")
    assert "lite_opening" in [b["code"] for b in (await client.get("/wx/v1/bundles")).json()["items"]]
    actions = await AuditEntry.filter(target_type="bundle", target_id="lite_opening").values_list("action", flat=True)
    assert sorted(actions) == ["bundle.publish", "bundle.save", "bundle.save", "bundle.save"]


async def test_roles_and_bad_declarations(client, seeded, admins):
    ops = await admin_headers(client, "ops")
    editor = await admin_headers(client, "editor")
    refused = await client.put("/admin/v1/bundles/x_y", json={"definition": definitions()[0]}, headers=ops)
    assert (refused.status_code, refused.json()["code"]) == (403, "role_required")
    assert (await client.get("/admin/v1/bundles", headers=ops)).status_code == 200
    bad = await client.put("/admin/v1/bundles/BAD", json={"definition": {"steps": "x"}}, headers=editor)
    assert (bad.status_code, bad.json()["code"]) == (400, "bundle_invalid")
    assert await Bundle.filter(code="BAD").count() == 0
    runs = await client.get("/admin/v1/bundle-runs?stuck=true", headers=ops)
    assert runs.json() == {"items": []}
    assert (await client.get("/admin/v1/bundle-runs", headers=editor)).status_code == 403
