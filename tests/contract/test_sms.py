"""The SMS sender against the mock's SMS sink, over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from adapters.sms import HttpSmsSender
from domain.shared.errors import UpstreamRejected, UpstreamUnavailable
from tests.support.mock_server import free_port


@pytest.fixture
async def mock(mock_url):
    async with httpx.AsyncClient(base_url=mock_url) as http:
        await http.post("/_mock/reset")
        yield http


@pytest.fixture
async def sms(mock_url):
    sender = HttpSmsSender(base_url=f"{mock_url}/_mock/sms", retry_delay=0.01)
    yield sender
    await sender.aclose()


async def test_login_code_is_delivered(sms, mock):
    await sms.send_login_code("13800000003", "482916")
    delivered = (await mock.get("/_mock/sms/13800000003")).json()
    assert delivered["code"] == "482916"
    assert delivered["text"] == "【国家政务服务平台】您的验证码是482916，5分钟内有效。请勿泄露。"
    assert delivered["phone"] == "13800000003" and delivered["sent_at"]


async def test_nothing_sent_reads_as_404(mock):
    assert (await mock.get("/_mock/sms/13800000009")).status_code == 404


async def test_one_gateway_error_is_retried(sms, mock):
    await mock.post("/_mock/faults", json={"api": "sms", "http_status": 500, "times": 1})
    await sms.send_login_code("13800000004", "111222")
    assert (await mock.get("/_mock/sms/13800000004")).json()["code"] == "111222"


async def test_failing_gateway_is_unavailable(sms, mock):
    await mock.post("/_mock/faults", json={"api": "sms", "http_status": 500, "times": 2})
    with pytest.raises(UpstreamUnavailable):
        await sms.send_login_code("13800000004", "111222")
    assert (await mock.get("/_mock/sms/13800000004")).status_code == 404


async def test_refused_message_is_rejected(sms, mock):
    with pytest.raises(UpstreamRejected) as caught:
        await sms.send_login_code("12345", "111222")
    assert caught.value.upstream_code == "http-400"


async def test_unreachable_gateway_is_unavailable():
    sender = HttpSmsSender(base_url=f"http://127.0.0.1:{free_port()}/_mock/sms", retry_delay=0.01)
    with pytest.raises(UpstreamUnavailable):
        await sender.send_login_code("13800000001", "123456")
    await sender.aclose()
