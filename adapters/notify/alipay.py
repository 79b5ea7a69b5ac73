"""Alipay mini-program template messages (``alipay.open.app.mini.templatemessage.send``) through the
RSA2-signed gateway, one attempt per call: the login client's signing and answer verification
(adapters/alipay/client.py), another method. Implements ``domain.notifications.ports.AlipayMessages``.
"""
from __future__ import annotations

import json

from adapters.alipay.client import AlipayLoginClient

TEMPLATE_MESSAGE_METHOD = "alipay.open.app.mini.templatemessage.send"


class AlipayTemplateMessages(AlipayLoginClient):
    def __init__(self, **options) -> None:
        # no retries of its own: the outbox relay owns the retry schedule
        super().__init__(**{**options, "retry_delays": ()})

    async def send_template(self, *, user_id: str, template_id: str, data: dict, page: str) -> None:
        content = {"to_user_id": user_id, "user_template_id": template_id, "page": page,
                   "data": json.dumps(data, ensure_ascii=False, separators=(",", ":"))}
        await self._call(TEMPLATE_MESSAGE_METHOD,
                         {"biz_content": json.dumps(content, ensure_ascii=False, separators=(",", ":"))})
