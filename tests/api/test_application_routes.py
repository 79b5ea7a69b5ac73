"""Applications over HTTP: the citizen routes on every channel (tailored shapes, Idempotency-Key,
field errors, 404 for another person's number, uploads) and the node's signed callbacks on /gov/v1."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage.local import LocalMaterialStore
from domain.applications.models import Application, NodeEvent
from domain.delivery.models import Delivery
from tests.support.applications import FORM, JPEG, PDF, setup_catalog_and_nodes
from tests.support.citizens import ALICE, BOB, bearer, login_alipay, login_app, login_wechat, verify_real_name

FUND = "330100-NAT-0001"
CHANNELS = {"wechat": ("/wx/v1", login_wechat), "alipay": ("/alipay/v1", login_alipay), "app": ("/app/v1", login_app)}


@pytest.fixture
async def nodes(resources, tmp_path):
    """Matters and nodes; the hub's material store writes to a temporary directory."""
    materials = resources.applications.materials
    kept, materials.store = materials.store, LocalMaterialStore(tmp_path)
    yield await setup_catalog_and_nodes(resources)
    materials.store = kept


async def _citizen(client, mock_url, channel="wechat", user="alice", who=ALICE) -> dict:
    prefix, login = CHANNELS[channel]
    session = await (login(client, mock_url, phone="13800000002") if channel == "app" and user == "bob"
                     else login(client, mock_url) if channel == "app" else login(client, mock_url, user))
    verified = await verify_real_name(client, prefix, session, who)
    assert verified.status_code == 200, verified.text
    session = verified.json()["session"] or session
    headers = {**bearer(session), **({"X-Device-Id": "device-1"} if channel == "app" else {})}
    return {"prefix": prefix, "headers": headers}


async def _upload(client, who, data=PDF, name="合同.pdf"):
    response = await client.post(f"{who['prefix']}/applications/materials", headers=who["headers"],
                                 files={"file": (name, data, "application/pdf")})
    assert response.status_code == 201, response.text
    return response.json()


async def _submit(client, who, *, key="key-1", body=None):
    if body is None:
        body = {"matter_code": FUND, "form": FORM,
                "materials": [{"name": "居民身份证", "upload_id": (await _upload(client, who, JPEG, "id.jpg"))["id"]},
                              {"name": "购房合同", "upload_id": (await _upload(client, who))["id"]}]}
    headers = {**who["headers"], **({"Idempotency-Key": key} if key else {})}
    return await client.post(f"{who['prefix']}/applications", headers=headers, json=body), body


def _problem(response, status, code):
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code
    return response.json()


@pytest.mark.parametrize("channel", ["wechat", "alipay", "app"])
async def test_apply_follow_and_withdraw_on_each_channel(client, mock_url, nodes, channel):
    who = await _citizen(client, mock_url, channel)
    response, body = await _submit(client, who)
    assert response.status_code == 201, response.text
    created = response.json()
    number = created["number"]
    assert created["status"] == "submitted" and created["status_name"] == "已提交"
    assert created["node_name"] == "测试节点 zj-platform" and response.headers["location"].endswith(number)
    assert created["timeline"][0]["title"] == "提交申请" and created["form"] == FORM
    if channel == "app":
        assert created["link"] == f"govhub://applications/{number}" and created["node_code"] == "zj-platform"
        assert {m["content_type"] for m in created["materials"]} == {"application/pdf", "image/jpeg"}
    else:  # compact for mini-programs: a page path, no codes or hashes
        assert created["page"] == f"pages/applications/detail?no={number}" and "node_code" not in created
        assert set(created["materials"][0]) == {"id", "name", "kind", "filename"}

    again = await client.post(f"{who['prefix']}/applications", headers={**who["headers"], "Idempotency-Key": "key-1"},
                              json=body)
    assert again.status_code == 201 and again.headers["idempotent-replayed"] == "true"
    assert again.json()["number"] == number

    listed = (await client.get(f"{who['prefix']}/applications", headers=who["headers"])).json()
    assert [a["number"] for a in listed["items"]] == [number] and listed["next_cursor"] is None
    shown = await client.get(f"{who['prefix']}/applications/{number}", headers=who["headers"])
    assert shown.status_code == 200 and shown.json()["allowed_actions"] == ["withdraw"]

    withdrawn = await client.post(f"{who['prefix']}/applications/{number}/withdrawal", headers=who["headers"],
                                  json={"reason": "信息填错了"})
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    _problem(await client.post(f"{who['prefix']}/applications/{number}/withdrawal", headers=who["headers"],
                               json={}), 409, "application_transition_not_allowed")
    assert await Delivery.filter(target="zj-platform").count() == 2  # submitted, withdrawn


async def test_submit_needs_a_key_and_a_key_serves_one_body(client, mock_url, nodes):
    who = await _citizen(client, mock_url)
    _problem((await _submit(client, who, key=None))[0], 400, "idempotency_key_required")
    first, body = await _submit(client, who)
    assert first.status_code == 201
    changed = {**body, "form": {**FORM, "amount_fen": 1}}
    _problem((await _submit(client, who, body=changed))[0], 409, "idempotency_key_reused")
    assert await Application.all().count() == 1


async def test_field_errors_come_as_a_list(client, mock_url, nodes):
    who = await _citizen(client, mock_url)
    response, _ = await _submit(client, who, body={"matter_code": FUND, "form": {"amount_fen": "many"},
                                                    "materials": []})
    problem = _problem(response, 400, "application_form_invalid")
    assert {"field": "form.amount_fen", "message": "类型有误"} in problem["errors"]
    assert {"field": "form.bank_account", "message": "必填项"} in problem["errors"]
    response, _ = await _submit(client, who, key="k2", body={"matter_code": FUND, "form": FORM,
                                                             "materials": [{"name": "购房合同"}]})
    assert _problem(response, 400, "invalid_input")["errors"][0]["field"] == "materials.0"
    response, _ = await _submit(client, who, key="k3", body={"matter_code": FUND, "form": FORM, "materials": []})
    problem = _problem(response, 400, "application_materials_invalid")
    assert {"field": "materials", "message": "缺少必需材料：购房合同"} in problem["errors"]
    assert await Application.all().count() == 0


async def test_an_unroutable_matter_is_a_clear_error(client, mock_url, nodes):
    who = await _citizen(client, mock_url)
    body = {"matter_code": "110000-NAT-0001", "form": FORM,
            "materials": [{"name": "居民身份证", "upload_id": (await _upload(client, who, JPEG))["id"]},
                          {"name": "购房合同", "upload_id": (await _upload(client, who))["id"]}]}
    _problem((await _submit(client, who, body=body))[0], 503, "no_handling_node")


async def test_another_persons_number_is_404(client, mock_url, nodes):
    alice = await _citizen(client, mock_url)
    number = (await _submit(client, alice))[0].json()["number"]
    bob = await _citizen(client, mock_url, user="bob", who=BOB)
    for response in (await client.get(f"/wx/v1/applications/{number}", headers=bob["headers"]),
                     await client.post(f"/wx/v1/applications/{number}/withdrawal", headers=bob["headers"], json={}),
                     await client.get("/wx/v1/applications/330100-20261127-999999", headers=bob["headers"])):
        problem = _problem(response, 404, "application_not_found")
        assert "330100" not in json.dumps(problem.get("errors"))
    assert (await client.get("/wx/v1/applications", headers=bob["headers"])).json()["items"] == []
    _problem(await client.get(f"/wx/v1/applications/{number}"), 401, "token_invalid")


async def test_uploads_are_checked(client, mock_url, nodes):
    who = await _citizen(client, mock_url)
    response = await client.post("/wx/v1/applications/materials", headers=who["headers"],
                                 files={"file": ("scan.pdf", b"#!/bin/sh\nrm -rf /", "application/pdf")})
    _problem(response, 400, "material_type_not_allowed")
    response = await client.post("/wx/v1/applications/materials", headers=who["headers"], data={"x": "1"},
                                 files={"other": ("a.pdf", PDF, "application/pdf")})
    assert _problem(response, 400, "invalid_input")["errors"] == [{"field": "file", "message": "必填项"}]


async def test_uploads_may_exceed_the_json_body_limit_up_to_their_own(client, mock_url, nodes, resources):
    """A scan is bigger than any JSON body: the upload route streams and enforces the upload limit
    (GOVHUB_UPLOAD_MAX_BYTES) itself; every other route keeps GOVHUB_MAX_BODY_BYTES."""
    who = await _citizen(client, mock_url)
    limit = resources.applications.materials.upload_max_bytes
    assert resources.settings.max_body_bytes < 3_000_000 < limit
    big = PDF + b"0" * (3_000_000 - len(PDF))
    response = await client.post("/wx/v1/applications/materials", headers=who["headers"],
                                 files={"file": ("big.pdf", big, "application/pdf")})
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(big)
    too_big = PDF + b"0" * (limit + 128 * 1024)
    response = await client.post("/wx/v1/applications/materials", headers=who["headers"],
                                 files={"file": ("huge.pdf", too_big, "application/pdf")})
    _problem(response, 413, "payload_too_large")
    padded = {"matter_code": "x", "form": {"pad": "0" * (resources.settings.max_body_bytes + 1)}, "materials": []}
    response = await client.post("/wx/v1/applications", headers={**who["headers"], "Idempotency-Key": "k"},
                                 json=padded)
    _problem(response, 413, "payload_too_large")


async def test_home_counts_open_items(client, mock_url, nodes):
    who = await _citizen(client, mock_url)
    await _submit(client, who)
    await _submit(client, who, key="key-2")
    home = (await client.get("/wx/v1/home", headers=who["headers"])).json()
    assert home["open_items"] == 2


async def test_home_counts_follow_every_change_while_counts_are_kept(client, mock_url, nodes, resources):
    # as in a serving process whose change feed is subscribed: counts are kept between page views,
    # and each submit and withdrawal (announced inside its transaction) is seen by the next view
    counts = resources.applications.open_counts
    counts.set_live(True)
    try:
        who = await _citizen(client, mock_url)

        async def open_items() -> int:
            return (await client.get("/wx/v1/home", headers=who["headers"])).json()["open_items"]

        assert await open_items() == 0 and await open_items() == 0  # the second from what is kept
        number = (await _submit(client, who))[0].json()["number"]
        assert await open_items() == 1
        await _submit(client, who, key="key-2")
        assert await open_items() == 2
        withdrawn = await client.post(f"{who['prefix']}/applications/{number}/withdrawal", headers=who["headers"],
                                      json={"reason": "信息填错了"})
        assert withdrawn.status_code == 200
        assert await open_items() == 1
    finally:
        counts.set_live(False)


# --- /gov/v1: the handling node's side ---------------------------------------------------------


async def _post_event(client, node, number, body: dict):
    raw = json.dumps(body).encode()
    path = f"/gov/v1/applications/{number}/events"
    return await client.post(path, content=raw, headers={**node.headers("POST", path, raw),
                                                         "Content-Type": "application/json"})


def _event(event_id, type_, minutes=0, **extra):
    at = datetime(2026, 11, 27, 2, 0, tzinfo=UTC) + timedelta(minutes=minutes)
    return {"event_id": event_id, "type": type_, "occurred_at": at.isoformat(), **extra}


async def test_node_events_move_the_application_once_and_in_order(client, mock_url, nodes):
    who = await _citizen(client, mock_url)
    number = (await _submit(client, who))[0].json()["number"]
    zj = nodes["zj"]

    early = await _post_event(client, zj, number, _event("e-3", "approved", 3))
    assert early.status_code == 200, early.text
    assert early.json() == {"number": number, "event_id": "e-3", "status": "submitted", "status_name": "已提交",
                                 "applied": False, "outcome": "waiting", "replayed": False}
    accepted = await _post_event(client, zj, number, _event("e-1", "accepted", 1, department_reference="ZJ-001"))
    assert (accepted.json()["status"], accepted.json()["applied"]) == ("approved", True)
    replay = await _post_event(client, zj, number, _event("e-1", "accepted", 1, department_reference="ZJ-001"))
    assert replay.json() == {**accepted.json(), "replayed": True}
    _problem(await _post_event(client, zj, number, _event("e-1", "refused", 1)), 409, "event_id_reused")
    stale = await _post_event(client, zj, number, _event("e-2", "review_started", 2))
    assert (stale.json()["status"], stale.json()["outcome"]) == ("approved", "stale")

    detail = (await client.get(f"/wx/v1/applications/{number}", headers=who["headers"])).json()
    assert [s["title"] for s in detail["timeline"]] == ["提交申请", "受理", "准予办理"]
    assert detail["status_name"] == "准予办理"


async def test_a_bad_signature_or_another_node_changes_nothing(client, mock_url, nodes):
    who = await _citizen(client, mock_url)
    number = (await _submit(client, who))[0].json()["number"]
    raw = json.dumps(_event("x-1", "accepted")).encode()
    path = f"/gov/v1/applications/{number}/events"
    forged = {**nodes["zj"].headers("POST", path, raw), "X-Gov-Signature": nodes["bj-psb"].headers(
        "POST", path, raw)["X-Gov-Signature"]}
    _problem(await client.post(path, content=raw, headers=forged), 401, "node_signature_invalid")
    _problem(await _post_event(client, nodes["bj-psb"], number, _event("x-2", "accepted")), 404,
             "application_not_found")
    _problem(await _post_event(client, nodes["zj"], number, {"event_id": "x-3", "type": "teleported",
                                                             "occurred_at": "2026-11-27T10:00:00+08:00"}),
             400, "invalid_input")
    _problem(await _post_event(client, nodes["zj"], number, _event("x-4", "accepted") | {
        "occurred_at": "2026-11-27T10:00:00"}), 400, "invalid_input")
    assert await NodeEvent.all().count() == 0
    assert (await Application.get(number=number)).status == "submitted"


async def test_the_handling_node_fetches_an_uploaded_material(client, mock_url, nodes, resources):
    who = await _citizen(client, mock_url)
    created = (await _submit(client, who))[0].json()
    payload = resources.delivery.payload_of(
        await Delivery.get(dedupe_key=f"application:{created['number']}:submitted"))
    download = next(m["download"] for m in payload["materials"] if m["name"] == "购房合同")
    response = await client.get(download, headers=nodes["zj"].headers("GET", download, b""))
    assert response.status_code == 200 and response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    _problem(await client.get(download, headers=nodes["bj-psb"].headers("GET", download, b"")), 404,
             "application_not_found")


async def test_resubmission_after_a_correction_request(client, mock_url, nodes):
    who = await _citizen(client, mock_url, "app")
    number = (await _submit(client, who))[0].json()["number"]
    await _post_event(client, nodes["zj"], number, _event("c-1", "correction_requested", 1, reason="合同不清晰"))
    detail = (await client.get(f"/app/v1/applications/{number}", headers=who["headers"])).json()
    assert detail["status"] == "correction_requested" and detail["timeline"][-1]["reason"] == "合同不清晰"
    assert detail["allowed_actions"] == ["withdraw", "resubmit"]
    body = {"form": FORM, "materials": [{"name": "居民身份证", "upload_id": (await _upload(client, who, JPEG))["id"]},
                                        {"name": "购房合同", "upload_id": (await _upload(client, who))["id"]}]}
    response = await client.post(f"/app/v1/applications/{number}/resubmission", headers=who["headers"], json=body)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "submitted"  # the correction came before acceptance: back to intake
    _problem(await client.post(f"/app/v1/applications/{number}/resubmission", headers=who["headers"], json=body),
             409, "application_transition_not_allowed")


async def test_an_e_license_in_the_wallet_serves_as_a_material(client, mock_url, nodes, resources):
    from tests.support.licenses import department, issue

    psb = await department(resources, node="bj-psb-licenses")
    id_card = await issue(client, psb, "resident_id_card", number="ID-APP-0001")  # ALICE's card
    who = await _citizen(client, mock_url, "app")
    body = {"matter_code": FUND, "form": FORM,
            "materials": [{"name": "居民身份证", "license_id": id_card["id"]},
                          {"name": "购房合同", "upload_id": (await _upload(client, who))["id"]}]}
    response, _ = await _submit(client, who, body=body)
    assert response.status_code == 201, response.text
    card = next(m for m in response.json()["materials"] if m["kind"] == "license")
    assert (card["license_id"], card["license_type"]) == (id_card["id"], "resident_id_card")
    applications = resources.applications
    person = (await Application.get(number=response.json()["number"])).person_id
    assert await applications.applicants_naming(license_id=id_card["id"], node_code="zj-platform") == [person]
    assert await applications.applicants_naming(license_id=id_card["id"], node_code="bj-psb") == []

    bob = await _citizen(client, mock_url, "app", user="bob", who=BOB)  # not bob's card
    body["materials"][1]["upload_id"] = (await _upload(client, bob))["id"]
    problem = _problem((await _submit(client, bob, body=body))[0], 400, "application_materials_invalid")
    assert {"field": "materials[0]", "message": "电子证照夹中没有该证照或证照已失效"} in problem["errors"]
