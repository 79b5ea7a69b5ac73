"""WeChat subscribe messages (subscribeMessage.send) through wechatpy, one attempt per call.

Built on the login client's plumbing (adapters/wechat/client.py): the same configured base URL,
the access token shared across workers through Redis, wechatpy run off the event loop, and its
failures mapped to the domain's typed errors. Implements ``domain.notifications.ports.WeChatMessages``.
"""
from __future__ import annotations

from adapters.wechat.client import TOKEN_STALE, WeChatLoginClient, logger
from domain.shared.errors import UpstreamRateLimited, UpstreamRejected

QUOTA_EXCEEDED = "45009"  # the mini-program's daily quota of this API: later, not never
# 43101: the citizen's consent is used up or refused; 40003 bad openid; 40037 bad template;
# 47003 a value breaks the template's rules. All permanent: UpstreamRejected as they come.


class WeChatSubscribeMessages(WeChatLoginClient):
    def __init__(self, **options) -> None:
        # no retries of its own: the outbox relay owns the retry schedule
        super().__init__(**{**options, "retry_delays": ()})

    async def send_subscribe(self, *, openid: str, template_id: str, data: dict, page: str) -> str:
        try:
            answer = await self._call("subscribe_send", self._send, openid, template_id, data, page)
        except UpstreamRejected as error:
            if error.upstream_code == QUOTA_EXCEEDED:
                raise UpstreamRateLimited(system=error.system, upstream_code=QUOTA_EXCEEDED) from error
            raise
        return str(answer.get("msgid", ""))

    def _send(self, openid: str, template_id: str, data: dict, page: str) -> dict:
        send = self._client.wxa.send_subscribe_message
        try:
            return send(openid, template_id, data, page=page)
        except Exception as exc:  # noqa: BLE001 - wechatpy's exception, re-raised unless the token is stale
            if getattr(exc, "errcode", None) not in TOKEN_STALE:
                raise
            # another worker replaced the token, or WeChat revoked it: fetch a new one, once
            logger.info("wechat access token refused (%s), fetching a new one", exc.errcode)
            self._client.fetch_access_token()
            return send(openid, template_id, data, page=page)
