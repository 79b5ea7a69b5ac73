"""The Alipay adapter against the mock gateway: real RSA2 signatures both ways, over real HTTP."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.alipay import AlipayLoginClient
from adapters.alipay.signing import signed_value
from domain.identity.errors import LoginCodeInvalid
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

KEYS = Path(__file__).resolve().parents[2] / "devkeys"
APP_ID = "2021000000000001"


@pytest.fixture
async def mock(mock_url):
    async with httpx.AsyncClient(base_url=mock_url) as http:
        await http.post("/_mock/reset")
        yield http


def make_client(mock_url: str, **overrides) -> AlipayLoginClient:
    options = {
        "gateway_url": f"{mock_url}/alipay/gateway.do",
        "app_id": APP_ID,
        "app_private_key_pem": (KEYS / "alipay_app_private.pem").read_bytes(),
        "alipay_public_key_pem": (KEYS / "alipay_platform_public.pem").read_bytes(),
        "retry_delays": (0.01, 0.02),
        **overrides,
    }
    return AlipayLoginClient(**options)


@pytest.fixture
async def alipay(mock_url):
    client = make_client(mock_url)
    yield client
    await client.aclose()


async def auth_code(mock: httpx.AsyncClient, user: str = "alice") -> str:
    return (await mock.post("/_mock/alipay/auth", json={"user": user})).json()["auth_code"]


async def fault(mock: httpx.AsyncClient, **spec) -> None:
    spec = {"api": "alipay.system.oauth.token", **spec}
    assert (await mock.post("/_mock/faults", json=spec)).status_code == 201


async def test_auth_code_gives_the_users_grant(alipay, mock):
    grant = await alipay.exchange_auth_code(await auth_code(mock))
    alice = (await mock.get("/_mock/users/alice")).json()["alipay"]
    assert grant.user_id == alice["user_id"]
    assert re.fullmatch(r"2088\d{12}", grant.user_id)
    assert grant.access_token and grant.refresh_token and grant.expires_in == 1296000


async def test_unknown_code_is_invalid(alipay, mock):
    with pytest.raises(LoginCodeInvalid) as caught:  # the signed error_response carries Chinese text
        await alipay.exchange_auth_code("not-a-code")
    assert caught.value.upstream_code == "isv.code-invalid"


async def test_code_is_single_use(alipay, mock):
    code = await auth_code(mock)
    await alipay.exchange_auth_code(code)
    with pytest.raises(LoginCodeInvalid):
        await alipay.exchange_auth_code(code)


async def test_forged_response_signature_is_not_trusted(alipay, mock):
    await fault(mock, corrupt_sign=True)
    with pytest.raises(UpstreamUnavailable) as caught:
        await alipay.exchange_auth_code(await auth_code(mock))
    assert caught.value.upstream_code == "bad-signature"


async def test_response_checked_against_the_configured_alipay_key(mock_url, mock):
    client = make_client(mock_url, alipay_public_key_pem=(KEYS / "alipay_app_public.pem").read_bytes())
    with pytest.raises(UpstreamUnavailable) as caught:
        await client.exchange_auth_code(await auth_code(mock))
    assert caught.value.upstream_code == "bad-signature"
    await client.aclose()


async def test_request_signed_with_a_wrong_key_is_refused_by_the_gateway(mock_url, mock):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    client = make_client(mock_url, app_private_key_pem=stranger)
    with pytest.raises(UpstreamRejected) as caught:
        await client.exchange_auth_code(await auth_code(mock))
    assert caught.value.upstream_code == "isv.invalid-signature"
    await client.aclose()


async def test_busy_gateway_is_retried(alipay, mock):
    await fault(mock, errcode=-1, times=2)
    grant = await alipay.exchange_auth_code(await auth_code(mock))
    assert grant.user_id.startswith("2088")


async def test_busy_after_retries_is_unavailable(alipay, mock):
    await fault(mock, errcode=-1, times=3)
    with pytest.raises(UpstreamUnavailable) as caught:
        await alipay.exchange_auth_code(await auth_code(mock))
    assert caught.value.upstream_code == "isp.unknow-error"


async def test_gateway_5xx_is_unavailable(alipay, mock):
    await fault(mock, http_status=503, times=3)
    with pytest.raises(UpstreamUnavailable):
        await alipay.exchange_auth_code(await auth_code(mock))


async def test_call_limit_is_rate_limited(alipay, mock):
    await fault(mock, errcode="40004", sub_code="isv.app-call-limited")
    with pytest.raises(UpstreamRateLimited):
        await alipay.exchange_auth_code(await auth_code(mock))


async def test_unsigned_answer_is_not_trusted():
    body = (
        '{"alipay_system_oauth_token_response":{"user_id":"2088000000000001","access_token":"a",'
        '"refresh_token":"r","expires_in":1296000}}'
    )
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text=body))
    async with httpx.AsyncClient(transport=transport) as http:
        client = make_client("http://gateway.test", http=http)
        with pytest.raises(UpstreamUnavailable) as caught:
            await client.exchange_auth_code("any")
    assert caught.value.upstream_code == "unsigned"


def test_signed_value_is_the_exact_text_not_a_reserialization():
    inner = '{"sub_msg": "授权码code无效" ,"code":"40002"}'
    assert signed_value('{"error_response" : ' + inner + ',"sign":"x"}', "error_response") == inner
    assert signed_value('{"other":{}}', "error_response") is None
