"""``POST /tsa``: the time-stamping authority over HTTP (RFC 3161 §3.4), on any Sanic app.

The body is a DER TimeStampReq sent as ``application/timestamp-query``; the answer is always a
DER TimeStampResp as ``application/timestamp-reply`` with status 200 — a request the authority
refuses (not SHA-256, not DER, ...) is a TimeStampResp with status rejection, not an HTTP error.
Only what never reaches the authority is an HTTP error, as problem+json like the stub's others:
another content type is 415, a body larger than any TimeStampReq is 413.
"""
from __future__ import annotations

from typing import Protocol

from sanic import Request, Sanic
from sanic.response import HTTPResponse, json, raw

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_QUERY_BYTES = 4096  # a SHA-256 TimeStampReq with a nonce is under 100 bytes


class Authority(Protocol):  # authority.TimeStampAuthority
    def respond(self, request_der: bytes) -> bytes: ...


def install(app: Sanic, authority: Authority, *, path: str = "/tsa") -> None:
    """Add ``POST {path}`` answering time-stamp queries with ``authority`` (route name ``tsa``)."""

    @app.post(path, name="tsa")
    async def time_stamp(request: Request) -> HTTPResponse:
        content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != QUERY_TYPE:
            return _problem(415, "unsupported_media_type", f"send a DER TimeStampReq as {QUERY_TYPE}")
        body = request.body or b""
        if len(body) > MAX_QUERY_BYTES:
            return _problem(413, "payload_too_large", f"a TimeStampReq is at most {MAX_QUERY_BYTES} bytes")
        return raw(authority.respond(body), content_type=REPLY_TYPE)


def _problem(status: int, code: str, detail: str) -> HTTPResponse:
    return json({"type": "about:blank", "title": detail, "status": status, "code": code, "detail": detail},
                status=status, content_type="application/problem+json")
