"""A citizen's side of the channels, for API tests: codes from the mock, logins through the hub."""
from __future__ import annotations

import httpx

ALICE = {"name": "张丽", "id_number": "110105199003070017", "phone": "13800000001"}
BOB = {"name": "王强", "id_number": "330106198805120023", "phone": "13800000002"}
CAROL = {"name": "李娜", "id_number": "310115199208150037", "phone": "13800000003"}
DAVE = {"name": "赵伟", "id_number": "110101197501010047", "phone": "13800000004"}
ERIN = {"name": "陈静", "id_number": "440305199511110051", "phone": "13800000005"}


async def mock_post(mock_url: str, path: str, body: dict) -> dict:
    async with httpx.AsyncClient(base_url=mock_url) as http:
        response = await http.post(path, json=body)
        response.raise_for_status()
        return response.json()


async def wechat_code(mock_url: str, user: str = "alice") -> str:
    return (await mock_post(mock_url, "/_mock/wechat/login", {"user": user}))["code"]


async def alipay_code(mock_url: str, user: str = "alice") -> str:
    return (await mock_post(mock_url, "/_mock/alipay/auth", {"user": user}))["auth_code"]


async def last_sms_code(mock_url: str, phone: str) -> str:
    async with httpx.AsyncClient(base_url=mock_url) as http:
        response = await http.get(f"/_mock/sms/{phone}")
        response.raise_for_status()
        return response.json()["code"]


def bearer(session: dict) -> dict:
    return {"Authorization": f"Bearer {session['access_token']}"}


async def login_wechat(client, mock_url: str, user: str = "alice") -> dict:
    response = await client.post("/wx/v1/session", json={"code": await wechat_code(mock_url, user)})
    assert response.status_code == 200, response.text
    return response.json()


async def login_alipay(client, mock_url: str, user: str = "alice") -> dict:
    response = await client.post("/alipay/v1/session", json={"auth_code": await alipay_code(mock_url, user)})
    assert response.status_code == 200, response.text
    return response.json()


async def login_app(client, mock_url: str, phone: str = "13800000001", device: str = "device-1") -> dict:
    sent = await client.post("/app/v1/sms-codes", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    code = await last_sms_code(mock_url, phone)
    response = await client.post("/app/v1/session", json={"phone": phone, "code": code},
                                 headers={"X-Device-Id": device})
    assert response.status_code == 200, response.text
    return response.json()


async def verify_real_name(client, prefix: str, session: dict, who: dict) -> httpx.Response:
    headers = {**bearer(session), **({"X-Device-Id": "device-1"} if prefix == "/app/v1" else {})}
    return await client.post(f"{prefix}/me/real-name", json={"name": who["name"], "id_number": who["id_number"]},
                             headers=headers)


async def face_scan(client, prefix: str, headers: dict) -> dict:
    """A fresh face scan (the face stub passes alice and bob): the headers of the L3 session it gives."""
    started = await client.post(f"{prefix}/me/face-verifications", headers=headers)
    assert started.status_code == 201, started.text
    verdict = await client.get(f"{prefix}/me/face-verifications/{started.json()['id']}", headers=headers)
    assert verdict.status_code == 200 and verdict.json()["passed"], verdict.text
    return {**headers, **bearer(verdict.json()["session"])}
