"""WeChat mini-program login (``jscode2session``) and phone number, through wechatpy.

wechatpy is synchronous, so each call runs in a worker thread. Its three hard-wired base URLs
are pointed at the configured one, so the same code talks to ``api.weixin.qq.com`` or to the
mock. Every failure leaves this module as one of the domain's typed errors.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

import requests
from wechatpy import WeChatClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from domain.identity.errors import ChannelUserBlocked, LoginCodeInvalid
from domain.identity.ports import WeChatSession
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

logger = logging.getLogger("govhub.adapters.wechat")

SYSTEM = "wechat"
SYSTEM_BUSY = -1
CODE_INVALID = {40029, 40163}  # unknown/expired code; code already used
RATE_LIMITED = 45011  # more than 100 jscode2session calls per minute for one user
HIGH_RISK_USER = 40226
TOKEN_STALE = {40001, 40014, 42001}  # access token invalid, malformed, expired


class _Transient(Exception):
    """Worth another try: WeChat said "busy", the network failed, or the answer was a 5xx."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _TimeoutSession(requests.Session):
    """wechatpy fetches the access token without a timeout; a hung socket must not hang a login."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs["timeout"] = kwargs.get("timeout") or self.default_timeout
        return super().request(method, url, **kwargs)


class _PlatformClient(WeChatClient):
    """wechatpy's client with every base URL taken from configuration."""

    def __init__(
        self, *, base_url: str, appid: str, secret: str, session: SessionStorage, timeout: float
    ) -> None:
        # auto_retry=False: wechatpy would refetch the token and retry without limit on 40001.
        super().__init__(appid, secret, session=session, timeout=timeout, auto_retry=False)
        self.base_url = base_url
        self.API_BASE_URL = f"{base_url}cgi-bin/"
        self.wxa.API_BASE_URL = base_url
        self._http = _TimeoutSession(timeout)

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=f"{self.base_url}cgi-bin/token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )


def _classify(exc: WeChatClientException) -> Exception:
    """Map one WeChat failure to a retry or to the domain's typed error."""
    errcode = exc.errcode
    if errcode is None:  # wechatpy's wrapper of an HTTP error status
        status = getattr(exc.response, "status_code", None)
        if status is None or status >= 500 or status == 429:
            return _Transient(f"http {status}")
        return UpstreamRejected(system=SYSTEM, upstream_code=f"http-{status}")
    logger.warning("wechat refused: errcode=%s errmsg=%s", errcode, exc.errmsg)
    if errcode == SYSTEM_BUSY:
        return _Transient("errcode -1")
    if errcode in CODE_INVALID:
        return LoginCodeInvalid(system=SYSTEM, upstream_code=str(errcode))
    if errcode == RATE_LIMITED:
        return UpstreamRateLimited(system=SYSTEM, upstream_code=str(errcode))
    if errcode == HIGH_RISK_USER:
        return ChannelUserBlocked()
    return UpstreamRejected(system=SYSTEM, upstream_code=str(errcode))


class WeChatLoginClient:
    """Implements ``domain.identity.ports.WeChatLogin``."""

    def __init__(
        self,
        *,
        base_url: str,
        appid: str,
        secret: str,
        session_storage: SessionStorage,
        timeout: float = 5.0,
        retry_delays: Sequence[float] = (0.2, 0.5),
    ) -> None:
        base_url = base_url if base_url.endswith("/") else f"{base_url}/"
        self._client = _PlatformClient(
            base_url=base_url, appid=appid, secret=secret, session=session_storage, timeout=timeout
        )
        self._retry_delays = tuple(retry_delays)

    async def code_to_session(self, code: str) -> WeChatSession:
        data = await self._call("jscode2session", self._client.wxa.code_to_session, code)
        if not data.get("openid") or not data.get("session_key"):
            raise UpstreamUnavailable(system=SYSTEM, upstream_code="incomplete-answer")
        return WeChatSession(
            openid=data["openid"], session_key=data["session_key"], unionid=data.get("unionid") or None
        )

    async def phone_number(self, code: str) -> str:
        data = await self._call("getuserphonenumber", self._fetch_phone, code)
        phone = (data.get("phone_info") or {}).get("purePhoneNumber")
        if not phone:
            raise UpstreamUnavailable(system=SYSTEM, upstream_code="incomplete-answer")
        return phone  # mainland number without the country code, as the hub stores phones

    # --- plumbing ------------------------------------------------------------------------

    async def _call(self, api: str, fn: Callable[..., Any], *args: Any) -> dict:
        """Run a wechatpy call off the event loop, retrying what is worth retrying."""
        for delay in (*self._retry_delays, None):
            try:
                return await asyncio.to_thread(self._run, fn, *args)
            except _Transient as exc:
                if delay is None:
                    logger.error("wechat %s still failing after retries: %s", api, exc.reason)
                    raise UpstreamUnavailable(system=SYSTEM, upstream_code=exc.reason) from exc
                logger.info("wechat %s failed (%s), retrying in %.1f s", api, exc.reason, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    @staticmethod
    def _run(fn: Callable[..., Any], *args: Any) -> dict:
        try:
            result = fn(*args)
        except WeChatClientException as exc:
            raise _classify(exc) from exc
        except (requests.RequestException, ValueError) as exc:  # refused, timed out, not JSON
            raise _Transient(type(exc).__name__) from exc
        if not isinstance(result, dict):  # wechatpy hands back the raw response when it is not JSON
            raise _Transient("not json")
        return result

    def _fetch_phone(self, code: str) -> dict:
        try:
            return self._post_phone(code)
        except WeChatClientException as exc:
            if exc.errcode not in TOKEN_STALE:
                raise
            # Another worker may have replaced the token, or WeChat revoked it: refresh once.
            logger.info("wechat access token refused (%s), fetching a new one", exc.errcode)
            self._client.fetch_access_token()
            return self._post_phone(code)

    def _post_phone(self, code: str) -> dict:
        # Not in wechatpy 1.8: its generic POST adds the access token and encodes the JSON body.
        return self._client.post(
            "wxa/business/getuserphonenumber", data={"code": code}, api_base_url=self._client.base_url
        )
