"""Messages the hub sends through the platforms, received and kept for inspection: Alipay
mini-program template messages on the gateway (``alipay.open.app.mini.templatemessage.send``).
WeChat subscribe messages are received by wechat.py; SMS by sms.py.

Like the real platforms, the mock checks the shape of a message, not whether the citizen
consented: the hub keeps the consents (docs/notifications.md).
"""

from __future__ import annotations

import itertools
import json as jsonlib
import re

from sanic import Blueprint, Request, json

from miniprogram_mock.state import MockState

TEMPLATE_MESSAGE_METHOD = "alipay.open.app.mini.templatemessage.send"
ALIPAY_USER_ID = re.compile(r"^2088\d{12}$")
_message_ids = itertools.count(1)


def alipay_template_message(request: Request, params: dict[str, str]) -> dict:
    """Check and keep one template message; the answer's inner value (code 10000)."""
    from miniprogram_mock.alipay import invalid  # the gateway's error helpers (alipay imports us)

    try:
        content = jsonlib.loads(params.get("biz_content") or "")
        data = jsonlib.loads(content.get("data") or "")
    except (ValueError, TypeError, AttributeError):
        raise invalid("isv.invalid-biz-content", "biz_content 或 data 不是合法的JSON") from None
    if not isinstance(content, dict) or not ALIPAY_USER_ID.match(str(content.get("to_user_id", ""))):
        raise invalid("isv.invalid-to-user-id", "to_user_id 无效")
    if not content.get("user_template_id"):
        raise invalid("isv.invalid-template-id", "user_template_id 无效")
    if not isinstance(data, dict):
        raise invalid("isv.invalid-data", "data 应为JSON对象")
    state: MockState = request.app.ctx.state
    state.alipay_messages.append({**content, "data": data, "message_id": next(_message_ids),
                                  "received_at": int(state.now())})
    return {"code": "10000", "msg": "Success"}


def device() -> Blueprint:
    bp = Blueprint("mock_messages", url_prefix="/_mock/alipay")

    @bp.get("/messages")
    async def alipay_messages(request: Request):
        """Template messages received, optionally for one ``to_user_id``."""
        to = request.args.get("to_user_id")
        found = [m for m in request.app.ctx.state.alipay_messages if to in (None, m.get("to_user_id"))]
        return json({"messages": found})

    return bp
