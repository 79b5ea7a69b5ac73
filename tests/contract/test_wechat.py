"""The WeChat adapter (wechatpy underneath) against the mock WeChat platform, over real HTTP."""

from __future__ import annotations

import asyncio
import base64

import fakeredis
import httpx
import pytest

from adapters.wechat import RedisSessionStorage, WeChatLoginClient
from domain.identity.errors import ChannelUserBlocked, LoginCodeInvalid
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable
from tests.support.mock_server import free_port

APPID, SECRET = "wxdev0000000000001", "dev-wechat-secret"
TOKEN_KEY = f"govhub:wechat:{APPID}_access_token"


@pytest.fixture
async def mock(mock_url):
    async with httpx.AsyncClient(base_url=mock_url) as http:
        await http.post("/_mock/reset")
        yield http


@pytest.fixture
def redis():
    return fakeredis.FakeRedis(server=fakeredis.FakeServer())


def make_client(mock_url: str, redis, **overrides) -> WeChatLoginClient:
    options = {
        "base_url": f"{mock_url}/wechat/",
        "appid": APPID,
        "secret": SECRET,
        "session_storage": RedisSessionStorage(redis),
        "retry_delays": (0.01, 0.02),
        **overrides,
    }
    return WeChatLoginClient(**options)


@pytest.fixture
def wechat(mock_url, redis):
    return make_client(mock_url, redis)


async def device_code(mock: httpx.AsyncClient, user: str = "alice", kind: str = "login") -> str:
    return (await mock.post(f"/_mock/wechat/{kind}", json={"user": user})).json()["code"]


async def fault(mock: httpx.AsyncClient, **spec) -> None:
    assert (await mock.post("/_mock/faults", json=spec)).status_code == 201


async def test_login_code_gives_the_users_stable_ids(wechat, mock):
    session = await wechat.code_to_session(await device_code(mock))
    alice = (await mock.get("/_mock/users/alice")).json()["wechat"]
    assert (session.openid, session.unionid) == (alice["openid"], alice["unionid"])
    assert len(base64.b64decode(session.session_key)) == 16


async def test_unknown_code_is_invalid(wechat, mock):
    with pytest.raises(LoginCodeInvalid) as caught:
        await wechat.code_to_session("081xxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    assert caught.value.upstream_code == "40029"


async def test_code_is_single_use(wechat, mock):
    code = await device_code(mock)
    await wechat.code_to_session(code)
    with pytest.raises(LoginCodeInvalid):
        await wechat.code_to_session(code)


async def test_code_expires_after_five_minutes(wechat, mock):
    code = await device_code(mock)
    await mock.post("/_mock/clock", json={"advance": 301})
    with pytest.raises(LoginCodeInvalid):
        await wechat.code_to_session(code)


async def test_high_risk_user_is_blocked(wechat, mock):
    with pytest.raises(ChannelUserBlocked) as caught:
        await wechat.code_to_session(await device_code(mock, "mallory"))
    assert caught.value.kind == "forbidden"


async def test_over_100_logins_a_minute_is_rate_limited(wechat, mock):
    codes = [await device_code(mock, "carol") for _ in range(101)]
    params = {"appid": APPID, "secret": SECRET, "grant_type": "authorization_code"}
    answers = await asyncio.gather(
        *(mock.get("/wechat/sns/jscode2session", params={**params, "js_code": c}) for c in codes[:100])
    )
    assert all("openid" in a.json() for a in answers)
    with pytest.raises(UpstreamRateLimited) as caught:
        await wechat.code_to_session(codes[100])
    assert caught.value.upstream_code == "45011"


async def test_system_busy_is_retried(wechat, mock):
    await fault(mock, api="jscode2session", errcode=-1, times=2)
    session = await wechat.code_to_session(await device_code(mock))
    assert session.openid.startswith("o")
    assert (await mock.get("/_mock/faults")).json()["faults"] == []  # both faults were hit


async def test_busy_after_retries_is_unavailable(wechat, mock):
    await fault(mock, api="jscode2session", errcode=-1, times=3)
    with pytest.raises(UpstreamUnavailable):
        await wechat.code_to_session(await device_code(mock))


async def test_server_errors_are_retried_then_unavailable(wechat, mock):
    await fault(mock, api="jscode2session", http_status=502, times=3)
    with pytest.raises(UpstreamUnavailable) as caught:
        await wechat.code_to_session(await device_code(mock))
    assert caught.value.upstream_code == "http 502"


async def test_unreachable_platform_is_unavailable(redis):
    client = make_client(f"http://127.0.0.1:{free_port()}", redis, timeout=1.0)
    with pytest.raises(UpstreamUnavailable):
        await client.code_to_session("any")


async def test_wrong_secret_is_rejected_not_retried(mock_url, redis, mock):
    client = make_client(mock_url, redis, secret="not-the-secret")
    with pytest.raises(UpstreamRejected) as caught:
        await client.code_to_session(await device_code(mock))
    assert caught.value.upstream_code == "40125"


async def test_phone_number(wechat, mock):
    assert await wechat.phone_number(await device_code(mock, "bob", kind="phone")) == "13800000002"


async def test_phone_code_is_single_use(wechat, mock):
    code = await device_code(mock, "bob", kind="phone")
    await wechat.phone_number(code)
    with pytest.raises(LoginCodeInvalid):
        await wechat.phone_number(code)


async def test_access_token_is_shared_through_redis(mock_url, redis, mock):
    await make_client(mock_url, redis).phone_number(await device_code(mock, kind="phone"))
    token = redis.get(TOKEN_KEY)
    assert token and 0 < redis.ttl(TOKEN_KEY) <= 7200
    # If the second instance tried to fetch its own token, the token endpoint would fail it.
    await fault(mock, api="token", http_status=500, times=10)
    another_worker = make_client(mock_url, redis)
    assert await another_worker.phone_number(await device_code(mock, "erin", kind="phone")) == "13800000005"
    assert redis.get(TOKEN_KEY) == token


async def test_refused_token_is_refreshed_once(wechat, redis, mock):
    await wechat.phone_number(await device_code(mock, kind="phone"))
    first = redis.get(TOKEN_KEY)
    await fault(mock, api="getuserphonenumber", errcode=40001, times=1)
    assert await wechat.phone_number(await device_code(mock, kind="phone")) == "13800000001"
    assert redis.get(TOKEN_KEY) not in (None, first)


async def test_storage_works_with_decoded_responses(mock_url, mock):
    redis = fakeredis.FakeRedis(server=fakeredis.FakeServer(), decode_responses=True)
    client = make_client(mock_url, redis)
    assert await client.phone_number(await device_code(mock, kind="phone")) == "13800000001"
    assert isinstance(redis.get(TOKEN_KEY), str)
