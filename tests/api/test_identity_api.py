"""Real name (L2), face (L3), one person across channels, refresh, logout and forged tokens."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

from domain.identity.models import Person, SmsChallenge
from tests.support.citizens import (
    ALICE,
    CAROL,
    DAVE,
    ERIN,
    bearer,
    login_alipay,
    login_app,
    login_wechat,
    verify_real_name,
)
from tests.support.clock import suite_clock


async def test_real_name_raises_assurance_and_masks(client, mock_url):
    session = await login_wechat(client, mock_url)
    response = await verify_real_name(client, "/wx/v1", session, ALICE)
    assert response.status_code == 200, response.text
    person = response.json()["person"]
    assert person["assurance"] == 2
    assert person["id_number_masked"] == "110105********0017" and person["name_masked"] == "*丽"
    assert ALICE["id_number"] not in response.text and ALICE["name"] not in response.text
    assert response.json()["session"] is None


async def test_real_name_rejections(client, mock_url):
    session = await login_wechat(client, mock_url)
    bad = await client.post("/wx/v1/me/real-name", json={"name": "张丽", "id_number": "110105199003070018"},
                            headers=bearer(session))
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_id_number"
    mismatch = await verify_real_name(client, "/wx/v1", session, ERIN)
    assert mismatch.status_code == 400 and mismatch.json()["code"] == "real_name_mismatch"
    unknown = await verify_real_name(client, "/wx/v1", session, DAVE)
    assert unknown.status_code == 400 and unknown.json()["reason"] == "not_found"
    me = await client.get("/wx/v1/me", headers=bearer(session))
    assert me.json()["assurance"] == 1 and me.json()["id_number_masked"] is None  # nothing was stored


async def test_one_person_across_wechat_alipay_and_app(client, mock_url):
    wechat = await login_wechat(client, mock_url, "alice")
    assert (await verify_real_name(client, "/wx/v1", wechat, ALICE)).status_code == 200
    app = await login_app(client, mock_url, phone="13900000001")
    assert app["person"]["id"] != wechat["person"]["id"]  # not known to be alice yet
    joined = await verify_real_name(client, "/app/v1", app, ALICE)
    assert joined.status_code == 200
    new_session = joined.json()["session"]
    assert new_session is not None and new_session["person"]["id"] == wechat["person"]["id"]
    me_app = (await client.get("/app/v1/me", headers=bearer(new_session))).json()
    me_wx = (await client.get("/wx/v1/me", headers=bearer(wechat))).json()
    assert me_app["id"] == me_wx["id"] and me_app["channels"] == ["app", "wechat"]
    absorbed = await Person.get(public_id=app["person"]["id"])  # kept, pointing at the survivor since the merge
    assert absorbed.merged_into_id is not None and abs((absorbed.merged_at - suite_clock.now()).total_seconds()) < 60
    # the old app token was for the absorbed record: that login was replaced
    assert (await client.get("/app/v1/me", headers=bearer(app))).status_code == 401
    # logging in on the app again (a minute later: one code a minute) lands on the one person
    await SmsChallenge.all().update(created_at=suite_clock.now() - timedelta(minutes=2))
    again = await login_app(client, mock_url, phone="13900000001", device="device-2")
    assert again["person"]["id"] == wechat["person"]["id"]
    alipay = await login_alipay(client, mock_url, "alice")
    joined_alipay = await verify_real_name(client, "/alipay/v1", alipay, ALICE)
    assert joined_alipay.json()["session"]["person"]["id"] == wechat["person"]["id"]


async def test_another_id_number_on_a_verified_account_is_refused(client, mock_url):
    session = await login_wechat(client, mock_url)
    await verify_real_name(client, "/wx/v1", session, ALICE)
    other = await verify_real_name(client, "/wx/v1", session, CAROL)
    assert other.status_code == 409 and other.json()["code"] == "real_name_already_bound"


async def test_face_verification_gives_l3_once(client, mock_url):
    session = await login_wechat(client, mock_url)
    start_too_early = await client.post("/wx/v1/me/face-verifications", headers=bearer(session))
    assert start_too_early.status_code == 403 and start_too_early.json()["code"] == "assurance_required"
    await verify_real_name(client, "/wx/v1", session, ALICE)
    started = await client.post("/wx/v1/me/face-verifications", headers=bearer(session))
    assert started.status_code == 201 and started.json()["expires_in"] == 1800
    face_id = started.json()["id"]
    result = await client.get(f"/wx/v1/me/face-verifications/{face_id}", headers=bearer(session))
    assert result.status_code == 200 and result.json()["passed"] is True
    l3 = result.json()["session"]
    assert l3["person"]["assurance"] == 3
    again = await client.get(f"/wx/v1/me/face-verifications/{face_id}", headers=bearer(session))
    assert again.status_code == 409 and again.json()["code"] == "face_result_consumed"


async def test_face_failure_gives_no_session(client, mock_url):
    session = await login_wechat(client, mock_url, "carol")
    await verify_real_name(client, "/wx/v1", session, CAROL)
    face_id = (await client.post("/wx/v1/me/face-verifications", headers=bearer(session))).json()["id"]
    result = (await client.get(f"/wx/v1/me/face-verifications/{face_id}", headers=bearer(session))).json()
    assert result["passed"] is False and result["reason"] == "liveness_failed" and result["session"] is None


async def test_face_session_of_another_person_is_not_found(client, mock_url):
    alice = await login_wechat(client, mock_url, "alice")
    await verify_real_name(client, "/wx/v1", alice, ALICE)
    face_id = (await client.post("/wx/v1/me/face-verifications", headers=bearer(alice))).json()["id"]
    bob = await login_wechat(client, mock_url, "bob")
    response = await client.get(f"/wx/v1/me/face-verifications/{face_id}", headers=bearer(bob))
    assert response.status_code == 404 and response.json()["code"] == "face_session_not_found"


async def test_step_up_route_requires_l3(client, mock_url):
    session = await login_wechat(client, mock_url)
    await verify_real_name(client, "/wx/v1", session, ALICE)
    refused = await client.get("/wx/v1/me/identity", headers=bearer(session))
    assert refused.status_code == 403
    problem = refused.json()
    assert problem["code"] == "assurance_required" and problem["required"] == "L3"
    assert problem["face_verification"] == "/wx/v1/me/face-verifications"
    face_id = (await client.post("/wx/v1/me/face-verifications", headers=bearer(session))).json()["id"]
    l3 = (await client.get(f"/wx/v1/me/face-verifications/{face_id}", headers=bearer(session))).json()["session"]
    shown = await client.get("/wx/v1/me/identity", headers=bearer(l3))
    assert shown.status_code == 200 and shown.json()["id_number"] == ALICE["id_number"]


async def test_refresh_rotates_and_reuse_revokes_the_family(client, mock_url):
    session = await login_wechat(client, mock_url)
    first = await client.post("/wx/v1/session/refresh", json={"refresh_token": session["refresh_token"]})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != session["refresh_token"] and rotated["person"]["id"] == session["person"]["id"]
    reuse = await client.post("/wx/v1/session/refresh", json={"refresh_token": session["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "refresh_token_reused"
    newer = await client.post("/wx/v1/session/refresh", json={"refresh_token": rotated["refresh_token"]})
    assert newer.status_code == 401
    assert (await client.get("/wx/v1/me", headers=bearer(rotated))).status_code == 401


async def test_logout_revokes_access_and_refresh(client, mock_url):
    session = await login_app(client, mock_url)
    assert (await client.delete("/app/v1/session", headers=bearer(session))).status_code == 204
    assert (await client.get("/app/v1/me", headers=bearer(session))).status_code == 401
    refresh = await client.post("/app/v1/session/refresh", json={"refresh_token": session["refresh_token"]},
                                headers={"X-Device-Id": "device-1"})
    assert refresh.status_code == 401


async def test_app_refresh_is_bound_to_the_device(client, mock_url):
    session = await login_app(client, mock_url, device="phone-a")
    stolen = await client.post("/app/v1/session/refresh", json={"refresh_token": session["refresh_token"]},
                               headers={"X-Device-Id": "phone-b"})
    assert stolen.status_code == 401


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_forged_tokens_are_refused(client, mock_url):
    session = await login_wechat(client, mock_url)
    header, payload, signature = session["access_token"].split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    none_alg = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    tampered = f"{header}.{_b64({**claims, 'acr': 'L3'})}.{signature}"
    for token in (none_alg, tampered, "garbage", session["access_token"] + "x"):
        response = await client.get("/wx/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401 and response.json()["code"] == "token_invalid", token
    # a WeChat token is not an app token (audience)
    assert (await client.get("/app/v1/me", headers=bearer(session))).status_code == 401
    assert (await client.get("/wx/v1/me")).status_code == 401


async def test_a_person_is_registered_at_the_hubs_time(client, mock_url, resources, monkeypatch):
    """The figures count registrations by the hub's clock (the suite's, moved by GOVHUB_CLOCK_OFFSET):
    the record's time is that clock's, not the database library's wall clock."""
    from domain.shared.clock import FrozenClock

    moment = suite_clock.now() - timedelta(days=3)
    monkeypatch.setattr(resources.identity, "clock", FrozenClock(moment))
    session = await login_wechat(client, mock_url, "erin")
    person = await Person.get(public_id=session["person"]["id"])
    assert person.created_at == moment
