"""SMS gateway sink: stores what the hub sends so journeys and tests can read the login code."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from sanic import Blueprint, Request, json
from sanic.response import HTTPResponse

from miniprogram_mock.state import MockState

MAINLAND_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def sink() -> Blueprint:
    bp = Blueprint("sms_sink", url_prefix="/_mock/sms")

    @bp.post("/send")
    async def send(request: Request):
        state: MockState = request.app.ctx.state
        fault = state.take_fault("sms")
        if fault is not None:
            return HTTPResponse("sms gateway fault injected", status=fault.http_status or 500)
        body = request.json if isinstance(request.json, dict) else {}
        phone = str(body.get("phone") or "")
        if not MAINLAND_MOBILE.match(phone) or not body.get("text"):
            return json(
                {"error": "invalid_request", "detail": "phone (mainland mobile) and text are required"},
                status=400,
            )
        sent_at = datetime.fromtimestamp(state.now(), UTC).isoformat()
        message_id = secrets.token_hex(8)
        state.sms[phone].append(
            {
                "message_id": message_id,
                "phone": phone,
                "code": body.get("code"),
                "text": body["text"],
                "template": body.get("template"),
                "sent_at": sent_at,
            }
        )
        return json({"message_id": message_id, "status": "delivered"})

    @bp.get("/<phone>")
    async def last_message(request: Request, phone: str):
        sent = request.app.ctx.state.sms.get(phone)
        if not sent:
            return json({"error": "not_found", "detail": f"no SMS sent to {phone}"}, status=404)
        return json({**sent[-1], "count": len(sent)})

    return bp
