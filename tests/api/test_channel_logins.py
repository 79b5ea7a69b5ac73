"""Logins on the three channels, through the in-process hub and the mock platforms over HTTP."""
from __future__ import annotations

import pytest

from tests.support.citizens import (
    bearer,
    last_sms_code,
    login_alipay,
    login_app,
    login_wechat,
    mock_post,
    wechat_code,
)

PROBLEM = "application/problem+json"
DEVICE = {"X-Device-Id": "device-1"}


async def test_wechat_login_creates_an_l1_person(client, mock_url):
    session = await login_wechat(client, mock_url)
    assert session["token_type"] == "Bearer" and session["expires_in"] == 900
    assert session["person"]["assurance"] == 1 and session["person"]["id"].startswith("p_")
    me = await client.get("/wx/v1/me", headers=bearer(session))
    assert me.status_code == 200 and me.json()["id"] == session["person"]["id"]


async def test_wechat_login_again_is_the_same_person(client, mock_url):
    first = await login_wechat(client, mock_url)
    second = await login_wechat(client, mock_url)
    assert first["person"]["id"] == second["person"]["id"]


async def test_wechat_code_is_single_use(client, mock_url):
    code = await wechat_code(mock_url)
    assert (await client.post("/wx/v1/session", json={"code": code})).status_code == 200
    replay = await client.post("/wx/v1/session", json={"code": code})
    assert replay.status_code == 400 and replay.json()["code"] == "login_code_invalid"
    assert replay.headers["content-type"].startswith(PROBLEM)


async def test_wechat_blocked_user_is_403(client, mock_url):
    response = await client.post("/wx/v1/session", json={"code": await wechat_code(mock_url, "mallory")})
    assert response.status_code == 403 and response.json()["code"] == "channel_user_blocked"


async def test_wechat_busy_is_retried_then_503(client, mock_url):
    await mock_post(mock_url, "/_mock/faults", {"api": "jscode2session", "errcode": -1, "times": 10})
    try:
        response = await client.post("/wx/v1/session", json={"code": await wechat_code(mock_url)})
    finally:
        async with __import__("httpx").AsyncClient(base_url=mock_url) as http:
            await http.delete("/_mock/faults")
    assert response.status_code == 503 and response.json()["code"] == "upstream_unavailable"
    assert "errcode" not in response.text  # no upstream internals reach the citizen


async def test_wechat_phone_binding(client, mock_url):
    session = await login_wechat(client, mock_url)
    code = (await mock_post(mock_url, "/_mock/wechat/phone", {"user": "alice"}))["code"]
    response = await client.post("/wx/v1/me/phone", json={"code": code}, headers=bearer(session))
    assert response.status_code == 200 and response.json()["phone_masked"] == "138****0001"


async def test_alipay_login_and_bad_code(client, mock_url):
    session = await login_alipay(client, mock_url)
    assert session["person"]["assurance"] == 1
    bad = await client.post("/alipay/v1/session", json={"auth_code": "not-a-code"})
    assert bad.status_code == 400 and bad.json()["code"] == "login_code_invalid"


async def test_app_login_with_sms_code(client, mock_url):
    session = await login_app(client, mock_url)
    assert session["person"]["phone_masked"] == "138****0001"
    assert session["person"]["channels"] == ["app"]  # the app gets the richer shape


async def test_sms_resend_within_a_minute_is_refused(client, mock_url):
    assert (await client.post("/app/v1/sms-codes", json={"phone": "13800000009"})).status_code == 202
    again = await client.post("/app/v1/sms-codes", json={"phone": "13800000009"})
    assert again.status_code == 429 and again.json()["code"] == "sms_send_limited"
    assert int(again.headers["Retry-After"]) > 0


async def test_sms_code_locks_after_five_wrong_tries(client, mock_url):
    phone = "13800000008"
    await client.post("/app/v1/sms-codes", json={"phone": phone})
    code = await last_sms_code(mock_url, phone)
    wrong = "000000" if code != "000000" else "111111"
    codes = []
    for _ in range(5):
        codes.append((await client.post("/app/v1/session", json={"phone": phone, "code": wrong},
                                           headers=DEVICE)).json()["code"])
    assert codes[:4] == ["sms_code_invalid"] * 4 and codes[4] == "sms_code_locked"
    right = await client.post("/app/v1/session", json={"phone": phone, "code": code}, headers=DEVICE)
    assert right.status_code == 429 and right.json()["code"] == "sms_code_locked"


async def test_sms_code_is_single_use(client, mock_url):
    phone = "13800000007"
    await client.post("/app/v1/sms-codes", json={"phone": phone})
    code = await last_sms_code(mock_url, phone)
    first = await client.post("/app/v1/session", json={"phone": phone, "code": code}, headers=DEVICE)
    assert first.status_code == 200, first.text
    replay = await client.post("/app/v1/session", json={"phone": phone, "code": code}, headers=DEVICE)
    assert replay.status_code == 401 and replay.json()["code"] == "sms_code_invalid"


@pytest.mark.parametrize("body,code", [
    (b"{not json", "malformed_json"),
    (b"[1, 2]", "invalid_input"),
    (b'{"code": 123}', "invalid_input"),
    (b"{}", "invalid_input"),
    (b'{"code": "x", "extra": 1}', "invalid_input"),
])
async def test_bad_bodies_get_problem_documents(client, body, code):
    response = await client.post("/wx/v1/session", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == code and problem["status"] == 400 and problem["title"]
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_field_errors_name_the_field(client):
    response = await client.post("/wx/v1/session", json={"code": 123})
    assert response.json()["errors"] == [{"field": "code", "message": "应为文本"}]


async def test_invalid_phone(client):
    response = await client.post("/app/v1/sms-codes", json={"phone": "12345"})
    assert response.status_code == 400 and response.json()["code"] == "invalid_phone"


async def test_oversize_body_is_413(client, settings):
    response = await client.post("/app/v1/sms-codes", content=b"x" * (settings.max_body_bytes + 1),
                                 headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and response.json()["code"] == "payload_too_large"


async def test_unknown_route_is_a_problem(client):
    response = await client.get("/wx/v1/nowhere")
    assert response.status_code in (401, 404)
    assert response.headers["content-type"].startswith(PROBLEM)


async def test_login_rate_limit_per_address(client, mock_url):
    statuses = [(await client.post("/alipay/v1/session", json={"auth_code": "x"})).status_code for _ in range(21)]
    assert statuses[:20] == [400] * 20 and statuses[20] == 429


async def test_app_login_without_device_keeps_the_code(client, mock_url):
    phone = "13800000006"
    await client.post("/app/v1/sms-codes", json={"phone": phone})
    code = await last_sms_code(mock_url, phone)
    refused = await client.post("/app/v1/session", json={"phone": phone, "code": code})
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "X-Device-Id"
    assert (await client.post("/app/v1/session", json={"phone": phone, "code": code}, headers=DEVICE)).status_code == 200
