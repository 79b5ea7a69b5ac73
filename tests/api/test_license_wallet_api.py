"""The wallet on the three channels, through the in-process hub: issued over signed /gov/v1,
listed, masked, shown (JSON and QR), verified, consented and logged."""
from __future__ import annotations

import pytest

from tests.support.citizens import (
    ALICE,
    bearer,
    face_scan,
    login_alipay,
    login_app,
    login_wechat,
    verify_real_name,
)
from tests.support.licenses import department, issue, signed

CHANNELS = {"/wx/v1": login_wechat, "/alipay/v1": login_alipay, "/app/v1": login_app}


async def _citizen(client, mock_url, prefix="/wx/v1", *, face: bool = False) -> dict:
    """Alice's headers at L2 (real name), or L3 after a fresh face scan."""
    session = await CHANNELS[prefix](client, mock_url)
    verified = await verify_real_name(client, prefix, session, ALICE)
    assert verified.status_code == 200, verified.text
    headers = {**bearer(verified.json()["session"] or session),
               **({"X-Device-Id": "device-1"} if prefix == "/app/v1" else {})}
    return await face_scan(client, prefix, headers) if face else headers


@pytest.fixture
async def psb(resources):
    return await department(resources)


@pytest.mark.parametrize("prefix", list(CHANNELS))
async def test_every_channel_lists_and_masks_the_wallet(client, mock_url, psb, prefix):
    issued = await issue(client, psb)
    headers = await _citizen(client, mock_url, prefix)
    listed = await client.get(f"{prefix}/licenses", headers=headers)
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["id"] == issued["id"] and item["status"] == "valid" and item["status_code"] == "01"
    assert ("number" in item) == (prefix == "/app/v1")  # mini-programs get the compact card
    detail = (await client.get(f"{prefix}/licenses/{issued['id']}", headers=headers)).json()
    assert detail["masked"] and detail["data"]["id_number"] == "110105********0017"
    assert "110105199003070017" not in str(detail)
    log = (await client.get(f"{prefix}/license-access-log", headers=headers)).json()["items"]
    assert [(e["action"], e["actor_kind"]) for e in log] == [("view", "holder")]


async def test_full_view_needs_a_fresh_face_scan(client, mock_url, psb):
    issued = await issue(client, psb)
    session = await login_wechat(client, mock_url)
    await verify_real_name(client, "/wx/v1", session, ALICE)
    refused = await client.get(f"/wx/v1/licenses/{issued['id']}?full=true", headers=bearer(session))
    assert refused.status_code == 403 and refused.json()["code"] == "assurance_required"
    assert refused.json()["face_verification"] == "/wx/v1/me/face-verifications"
    face = (await client.post("/wx/v1/me/face-verifications", headers=bearer(session))).json()["id"]
    l3 = (await client.get(f"/wx/v1/me/face-verifications/{face}", headers=bearer(session))).json()["session"]
    full = await client.get(f"/wx/v1/licenses/{issued['id']}?full=true", headers=bearer(l3))
    assert full.status_code == 200 and full.json()["data"]["id_number"] == "110105199003070017"


async def test_without_real_name_there_is_no_wallet(client, mock_url, psb):
    session = await login_wechat(client, mock_url, "bob")
    response = await client.get("/wx/v1/licenses", headers=bearer(session))
    assert response.status_code == 403 and response.json()["code"] == "assurance_required"
    assert (await client.get("/wx/v1/licenses")).status_code == 401


async def test_someone_elses_license_is_not_found(client, mock_url, psb):
    issued = await issue(client, psb, "residence_permit", "RP-1")  # Bob's
    headers = await _citizen(client, mock_url)
    for path in (f"/wx/v1/licenses/{issued['id']}", f"/wx/v1/licenses/{issued['id']}/history"):
        response = await client.get(path, headers=headers)
        assert response.status_code == 404 and response.json()["code"] == "license_not_found"


async def test_show_a_license_as_token_and_qr(client, mock_url, psb):
    issued = await issue(client, psb)
    headers = await _citizen(client, mock_url, face=True)
    shown = await client.post(f"/wx/v1/licenses/{issued['id']}/presentations", json={"fields": ["name", "sex"]},
                              headers=headers)
    assert shown.status_code == 201, shown.text
    body = shown.json()
    assert body["token"].startswith("GHP1.") and 178 <= body["expires_in"] <= 180 and body["bytes"] < 1000
    png = await client.post(f"/wx/v1/licenses/{issued['id']}/presentations?format=png", json={"fields": ["name"]},
                            headers=headers)
    assert png.status_code == 201 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG") and png.headers["x-presentation-id"]
    svg = await client.post(f"/wx/v1/licenses/{issued['id']}/presentations?format=svg", json={"fields": ["name"]},
                            headers=headers)
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    verified = await client.post("/public/v1/presentations/verify", json={"token": body["token"]})
    assert verified.json()["result"] == "valid" and verified.json()["fields"] == {"name": "张丽", "sex": "女"}


@pytest.mark.parametrize("body, code", [({"fields": []}, "invalid_input"), ({"fields": ["shoe_size"]}, "invalid_input"),
                                        ({"fields": "name"}, "invalid_input"), ({}, "invalid_input")])
async def test_bad_presentation_requests(client, mock_url, psb, body, code):
    issued = await issue(client, psb)
    headers = await _citizen(client, mock_url)
    response = await client.post(f"/wx/v1/licenses/{issued['id']}/presentations", json=body, headers=headers)
    assert response.status_code == 400 and response.json()["code"] == code
    bad_format = await client.post(f"/wx/v1/licenses/{issued['id']}/presentations?format=gif",
                                   json={"fields": ["name"]}, headers=headers)
    assert bad_format.status_code == 400


async def test_a_suspended_license_cannot_be_shown_and_history_says_why(client, mock_url, psb):
    issued = await issue(client, psb)
    changed = await signed(client, psb, "POST", f"/gov/v1/licenses/{issued['id']}/status",
                           {"status": "suspended", "reason": "挂失"})
    assert changed.json()["status"] == "suspended"
    headers = await _citizen(client, mock_url, "/app/v1")
    refused = await client.post(f"/app/v1/licenses/{issued['id']}/presentations", json={"fields": ["sex"]},
                                headers=headers)
    assert refused.status_code == 409 and refused.json()["code"] == "license_not_presentable", refused.text
    history = (await client.get(f"/app/v1/licenses/{issued['id']}/history", headers=headers)).json()["items"]
    assert [(h["status_to"], h["reason"]) for h in history] == [("valid", None), ("suspended", "挂失")]


@pytest.mark.parametrize("prefix", list(CHANNELS))
async def test_consents_on_every_channel(client, mock_url, psb, prefix):
    await issue(client, psb)
    headers = await _citizen(client, mock_url, prefix, face=True)
    asked = await signed(client, psb, "POST", "/gov/v1/license-exchanges",
                         {"type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "办理居住证"})
    assert asked.status_code == 403 and asked.json()["code"] == "consent_required"
    [request] = (await client.get(f"{prefix}/license-consents", headers=headers)).json()["items"]
    assert request["status"] == "requested" and request["purpose"] == "办理居住证"
    granted = await client.post(f"{prefix}/license-consents", json={"consent_id": request["id"], "kind": "standing",
                                                                    "days": 30}, headers=headers)
    assert granted.status_code == 201 and granted.json()["status"] == "granted"
    released = await signed(client, psb, "POST", "/gov/v1/license-exchanges",
                            {"type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "办理居住证"})
    assert released.status_code == 200 and released.json()["data"]["id_number"] == ALICE["id_number"]
    revoked = await client.delete(f"{prefix}/license-consents/{request['id']}", headers=headers)
    assert revoked.json()["status"] == "revoked"
    again = await signed(client, psb, "POST", "/gov/v1/license-exchanges",
                         {"type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "办理居住证"})
    assert again.status_code == 403
    log = (await client.get(f"{prefix}/license-access-log", headers=headers)).json()["items"]
    assert [e["outcome"] for e in log if e["action"] == "exchange"] == ["refused", "released", "refused"]
    assert all(e["actor"] == psb.node for e in log if e["action"] == "exchange")


async def test_bad_consent_requests(client, mock_url, psb):
    headers = await _citizen(client, mock_url, face=True)
    cases = [({"department": psb.node, "type": "nope", "purpose": "事由"}, 400),
             ({"department": "nobody", "type": "resident_id_card", "purpose": "事由"}, 404),
             ({"department": psb.node, "type": "resident_id_card", "purpose": "事由", "kind": "forever"}, 400),
             ({"consent_id": "cns_missing"}, 404)]
    for body, status in cases:
        response = await client.post("/wx/v1/license-consents", json=body, headers=headers)
        assert response.status_code == status, (body, response.text)
    assert (await client.get("/wx/v1/license-consents", headers=headers)).json()["items"] == []
    assert (await client.delete("/wx/v1/license-consents/cns_missing", headers=headers)).status_code == 404


@pytest.mark.parametrize("prefix", list(CHANNELS))
async def test_sensitive_fields_are_shown_only_after_a_fresh_face_scan(client, mock_url, psb, prefix):
    """Issue #12 item 3: at L2 a presentation of the ID number and address was a token holding both
    in clear — the fields the detail route withholds until L3. One rule now covers both routes."""
    issued = await issue(client, psb)
    path = f"{prefix}/licenses/{issued['id']}/presentations"
    l2 = await _citizen(client, mock_url, prefix)
    refused = await client.post(path, json={"fields": ["id_number", "address"]}, headers=l2)
    assert refused.status_code == 403, refused.text
    problem = refused.json()
    assert problem["code"] == "assurance_required" and problem["required"] == "L3"
    assert problem["fields"] == ["id_number", "address"]
    assert problem["face_verification"] == f"{prefix}/me/face-verifications"
    assert ALICE["id_number"] not in refused.text
    plain = await client.post(path, json={"fields": ["sex", "birth_date"]}, headers=l2)
    assert plain.status_code == 201 and ALICE["id_number"] not in plain.text
    log = (await client.get(f"{prefix}/license-access-log", headers=l2)).json()["items"]
    assert [e["purpose"] for e in log if e["action"] == "present"] == ["亮证：sex、birth_date"]
    l3 = await face_scan(client, prefix, l2)
    shown = await client.post(path, json={"fields": ["id_number", "address"]}, headers=l3)
    assert shown.status_code == 201, shown.text
    verified = (await client.post("/public/v1/presentations/verify", json={"token": shown.json()["token"]})).json()
    assert verified["fields"] == {"id_number": ALICE["id_number"], "address": "北京市朝阳区建国路1号"}


async def test_granting_a_consent_needs_a_fresh_face_scan(client, mock_url, psb):
    await issue(client, psb)
    l2 = await _citizen(client, mock_url)
    body = {"department": psb.node, "type": "resident_id_card", "purpose": "户籍业务", "kind": "standing", "days": 30}
    refused = await client.post("/wx/v1/license-consents", json=body, headers=l2)
    assert refused.status_code == 403 and refused.json()["code"] == "assurance_required", refused.text
    assert refused.json()["face_verification"] == "/wx/v1/me/face-verifications"
    assert (await client.get("/wx/v1/license-consents", headers=l2)).json()["items"] == []
    granted = await client.post("/wx/v1/license-consents", json=body, headers=await face_scan(client, "/wx/v1", l2))
    assert granted.status_code == 201, granted.text
    released = await signed(client, psb, "POST", "/gov/v1/license-exchanges",
                            {"type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "户籍业务"})
    assert released.status_code == 200 and released.json()["withheld"] == []
