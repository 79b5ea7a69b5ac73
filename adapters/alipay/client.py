"""Alipay mini-program login: ``alipay.system.oauth.token`` through the RSA2-signed gateway.

No SDK: the gateway protocol is a signed form post. Every answer is checked against Alipay's
public key before a single field of it is believed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import httpx

from adapters.alipay import signing
from domain.identity.errors import LoginCodeInvalid
from domain.identity.ports import AlipayGrant
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected, UpstreamUnavailable

logger = logging.getLogger("govhub.adapters.alipay")

SYSTEM = "alipay"
OAUTH_METHOD = "alipay.system.oauth.token"
SHANGHAI = timezone(timedelta(hours=8))  # the gateway expects Beijing time; China has no DST
CODE_INVALID = {"isv.code-invalid", "isv.auth-code-invalid", "isv.code-expired", "isv.auth-code-expired"}
BUSY = {"isp.unknow-error", "isp.unknown-error", "aop.ACQ.SYSTEM_ERROR", "ACQ.SYSTEM_ERROR"}
RATE_LIMITED = {"isv.app-call-limited", "aop.app-call-limited", "isp.rop-freq-limit", "ACQ.REQUEST_TOO_FAST"}
DEFAULT_TIMEOUT = httpx.Timeout(5.0, connect=2.0)


class _Transient(Exception):
    """Worth another try: the gateway is busy, unreachable or answered 5xx."""


def _response_key(method: str) -> str:
    return method.replace(".", "_") + "_response"


def _classify(error: dict) -> Exception:
    code, sub_code = str(error.get("code", "")), str(error.get("sub_code", ""))
    logger.warning("alipay refused: code=%s sub_code=%s sub_msg=%s", code, sub_code, error.get("sub_msg"))
    if sub_code in CODE_INVALID:
        return LoginCodeInvalid(system=SYSTEM, upstream_code=sub_code)
    if code == "20000" or sub_code in BUSY:
        return _Transient(sub_code or code)
    if sub_code in RATE_LIMITED:
        return UpstreamRateLimited(system=SYSTEM, upstream_code=sub_code)
    return UpstreamRejected(system=SYSTEM, upstream_code=sub_code or code)


class AlipayLoginClient:
    """Implements ``domain.identity.ports.AlipayLogin``."""

    def __init__(
        self,
        *,
        gateway_url: str,
        app_id: str,
        app_private_key_pem: bytes,
        alipay_public_key_pem: bytes,
        http: httpx.AsyncClient | None = None,
        retry_delays: Sequence[float] = (0.2, 0.5),
    ) -> None:
        self._gateway_url = gateway_url
        self._app_id = app_id
        self._private_key = signing.load_private_key(app_private_key_pem)
        self._alipay_key = signing.load_public_key(alipay_public_key_pem)
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(timeout=DEFAULT_TIMEOUT)
        self._retry_delays = tuple(retry_delays)

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def exchange_auth_code(self, auth_code: str) -> AlipayGrant:
        answer = await self._call(OAUTH_METHOD, {"grant_type": "authorization_code", "code": auth_code})
        try:
            return AlipayGrant(
                user_id=str(answer["user_id"]),
                access_token=answer["access_token"],
                refresh_token=answer["refresh_token"],
                expires_in=int(answer["expires_in"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise UpstreamUnavailable(system=SYSTEM, upstream_code="incomplete-answer") from exc

    # --- the gateway protocol -------------------------------------------------------------

    def signed_params(self, method: str, business: dict[str, str]) -> dict[str, str]:
        params = {
            "app_id": self._app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": datetime.now(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S"),
            "version": "1.0",
            **business,
        }
        params["sign"] = signing.sign(self._private_key, signing.content_to_sign(params))
        return params

    async def _call(self, method: str, business: dict[str, str]) -> dict:
        for delay in (*self._retry_delays, None):
            try:
                return await self._attempt(method, business)
            except _Transient as exc:
                if delay is None:
                    logger.error("alipay %s still failing after retries: %s", method, exc)
                    raise UpstreamUnavailable(system=SYSTEM, upstream_code=str(exc)) from exc
                logger.info("alipay %s failed (%s), retrying in %.1f s", method, exc, delay)
                await asyncio.sleep(delay)
        raise AssertionError("unreachable")

    async def _attempt(self, method: str, business: dict[str, str]) -> dict:
        # Signed afresh on every attempt: the timestamp is part of the signature.
        params = self.signed_params(method, business)
        try:
            response = await self._http.post(self._gateway_url, data=params)
        except httpx.HTTPError as exc:
            raise _Transient(type(exc).__name__) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _Transient(f"http {response.status_code}")
        if response.status_code != 200:
            raise UpstreamRejected(system=SYSTEM, upstream_code=f"http-{response.status_code}")
        key, value = self._verified(response.text, _response_key(method))
        if key == "error_response" or str(value.get("code", "10000")) != "10000":
            raise _classify(value)
        return value

    def _verified(self, body: str, success_key: str) -> tuple[str, dict]:
        """The response value, only if Alipay's signature over its exact text holds."""
        try:
            document = json.loads(body)
        except ValueError:
            document = None
        key = next(
            (k for k in (success_key, "error_response") if isinstance(document, dict) and k in document), None
        )
        raw = signing.signed_value(body, key) if key else None
        signature = document.get("sign") if isinstance(document, dict) else None
        if raw is None or not isinstance(signature, str) or json.loads(raw) != document[key]:
            logger.error("alipay answer unreadable or unsigned; refusing to trust it")
            raise UpstreamUnavailable(system=SYSTEM, upstream_code="unsigned")
        if not signing.verify(self._alipay_key, raw, signature):
            logger.error("alipay answer signature does not verify: forged, or the wrong Alipay public key")
            raise UpstreamUnavailable(system=SYSTEM, upstream_code="bad-signature")
        if not isinstance(document[key], dict):
            raise UpstreamUnavailable(system=SYSTEM, upstream_code="not-an-object")
        return key, document[key]
