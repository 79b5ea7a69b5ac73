"""The mock itself: it must behave like the platforms, or the contract tests prove nothing."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from adapters.alipay import AlipayLoginClient
from miniprogram_mock.journey import JourneyFailed, mask_id_number, run_login_journey
from tests.support.mock_server import free_port

KEYS = Path(__file__).resolve().parents[2] / "devkeys"
APPID, SECRET = "wxdev0000000000001", "dev-wechat-secret"


@pytest.fixture
async def mock(mock_url):
    async with httpx.AsyncClient(base_url=mock_url) as http:
        await http.post("/_mock/reset")
        yield http


async def token(mock: httpx.AsyncClient, **params) -> dict:
    query = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET, **params}
    return (await mock.get("/wechat/cgi-bin/token", params=query)).json()


async def test_token_checks_appid_and_secret(mock):
    assert (await token(mock, appid="wxother"))["errcode"] == 40013
    assert (await token(mock, secret="nope"))["errcode"] == 40125
    issued = await token(mock)
    assert issued["expires_in"] == 7200 and len(issued["access_token"]) > 100


async def test_stable_token_is_stable_until_forced(mock):
    body = {"grant_type": "client_credential", "appid": APPID, "secret": SECRET}
    first = (await mock.post("/wechat/cgi-bin/stable_token", json=body)).json()["access_token"]
    again = (await mock.post("/wechat/cgi-bin/stable_token", json=body)).json()["access_token"]
    forced = (await mock.post("/wechat/cgi-bin/stable_token", json={**body, "force_refresh": True})).json()
    assert first == again != forced["access_token"]


@pytest.mark.parametrize("access_token, errcode", [(None, 41001), ("forged", 40001)])
async def test_phone_api_needs_a_valid_token(mock, access_token, errcode):
    params = {"access_token": access_token} if access_token else {}
    answer = (
        await mock.post("/wechat/wxa/business/getuserphonenumber", params=params, json={"code": "x"})
    ).json()
    assert answer["errcode"] == errcode and re.search(r"rid: \S+", answer["errmsg"])


async def test_tokens_expire_after_two_hours(mock):
    issued = (await token(mock))["access_token"]
    await mock.post("/_mock/clock", json={"advance": 7201})
    answer = (
        await mock.post(
            "/wechat/wxa/business/getuserphonenumber", params={"access_token": issued}, json={"code": "x"}
        )
    ).json()
    assert answer["errcode"] == 42001


async def test_subscribe_messages_are_kept_for_inspection(mock):
    alice = (await mock.get("/_mock/users/alice")).json()["wechat"]["openid"]
    message = {
        "touser": alice,
        "template_id": "tpl-progress",
        "page": "pages/applications/detail?no=1",
        "data": {"thing1": {"value": "已受理"}},
    }
    sent = (
        await mock.post(
            "/wechat/cgi-bin/message/subscribe/send",
            params={"access_token": (await token(mock))["access_token"]},
            json=message,
        )
    ).json()
    assert sent["errcode"] == 0
    listed = (await mock.get("/_mock/wechat/messages", params={"touser": alice})).json()["messages"]
    assert [m["template_id"] for m in listed] == ["tpl-progress"]
    assert (await mock.get("/_mock/wechat/messages", params={"touser": "someone"})).json()["messages"] == []


async def test_identities_are_stable_and_distinct(mock):
    alice = (await mock.get("/_mock/users/alice")).json()
    await mock.post("/_mock/reset")
    assert (await mock.get("/_mock/users/alice")).json() == alice
    zed = (await mock.get("/_mock/users/zed")).json()
    assert zed["wechat"]["openid"] != alice["wechat"]["openid"]
    assert re.fullmatch(r"1\d{10}", zed["phone"]) and zed["identity"] is None
    assert alice["identity"] == {"name": "张丽", "id_number": "110105199003070017"}


async def test_faults_are_validated_and_cleared(mock):
    assert (await mock.post("/_mock/faults", json={"api": "nonsense"})).status_code == 400
    await mock.post("/_mock/faults", json={"api": "sms", "http_status": 500, "times": 5})
    assert len((await mock.get("/_mock/faults")).json()["faults"]) == 1
    await mock.delete("/_mock/faults")
    assert (await mock.get("/_mock/faults")).json()["faults"] == []


async def test_reset_forgets_sms(mock):
    await mock.post("/_mock/sms/send", json={"phone": "13800000001", "text": "t", "code": "1"})
    await mock.post("/_mock/reset")
    assert (await mock.get("/_mock/sms/13800000001")).status_code == 404


def _gateway_client(mock_url: str) -> AlipayLoginClient:
    return AlipayLoginClient(
        gateway_url=f"{mock_url}/alipay/gateway.do",
        app_id="2021000000000001",
        app_private_key_pem=(KEYS / "alipay_app_private.pem").read_bytes(),
        alipay_public_key_pem=(KEYS / "alipay_platform_public.pem").read_bytes(),
    )


async def test_gateway_signs_the_exact_response_text(mock, mock_url):
    code = (await mock.post("/_mock/alipay/auth", json={"user": "bob"})).json()["auth_code"]
    params = _gateway_client(mock_url).signed_params(
        "alipay.system.oauth.token", {"grant_type": "authorization_code", "code": code}
    )
    body = (await mock.post("/alipay/gateway.do", data=params)).text
    # Checked here with cryptography directly: neither the adapter's nor the mock's signing code.
    inner = re.match(r'^\{"alipay_system_oauth_token_response":(\{.*\}),"sign":"([^"]+)"\}$', body)
    public = serialization.load_pem_public_key((KEYS / "alipay_platform_public.pem").read_bytes())
    public.verify(base64.b64decode(inner[2]), inner[1].encode(), padding.PKCS1v15(), hashes.SHA256())
    assert json.loads(inner[1])["re_expires_in"] == 2592000


@pytest.mark.parametrize(
    "drop, sub_code", [("sign", "isv.missing-signature"), ("app_id", "isv.missing-app-id")]
)
async def test_gateway_requires_its_envelope(mock, mock_url, drop, sub_code):
    params = _gateway_client(mock_url).signed_params(
        "alipay.system.oauth.token", {"grant_type": "authorization_code"}
    )
    del params[drop]
    answer = (await mock.post("/alipay/gateway.do", data=params)).json()["error_response"]
    assert (answer["code"], answer["sub_code"]) == ("40001", sub_code)


async def test_gateway_refuses_a_tampered_request(mock, mock_url):
    params = _gateway_client(mock_url).signed_params(
        "alipay.system.oauth.token", {"grant_type": "authorization_code", "code": "a"}
    )
    params["code"] = "b"  # changed after signing
    answer = (await mock.post("/alipay/gateway.do", params=params)).json()["error_response"]
    assert answer["sub_code"] == "isv.invalid-signature"


async def test_journey_stops_with_the_failing_step(mock_url):
    lines: list[str] = []
    with pytest.raises(JourneyFailed) as caught:
        run_login_journey("wechat", f"http://127.0.0.1:{free_port()}", mock_url, out=lines.append)
    assert caught.value.step == 2 and caught.value.status is None
    assert lines and lines[0].startswith("[1/7] wechat: wx.login as alice")


def test_id_numbers_are_masked_for_display():
    assert mask_id_number("110105199003070017") == "110105********0017"
    assert mask_id_number("110105********0017") == "110105********0017"
