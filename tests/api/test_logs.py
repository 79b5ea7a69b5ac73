"""Logs are JSON with a request id, and never carry ID numbers, phone numbers or tokens in clear."""
from __future__ import annotations

import io
import json
import logging

import pytest

from bff.common.logs import JsonFormatter, redact
from tests.support.citizens import ALICE, bearer, login_app, login_wechat, verify_real_name


@pytest.mark.parametrize("text,leak", [
    ("id 110105199003070017 failed", "110105199003070017"),
    ("phone=13800000001", "13800000001"),
    ("Authorization: Bearer abcdefghijklmnop", "abcdefghijklmnop"),
    ("token eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJwXzEifQ.c2lnbmF0dXJl", "eyJzdWIiOiJwXzEifQ"),
    ("refresh_token=Zm9vYmFyYmF6cXV4cXV1eA", "Zm9vYmFyYmF6cXV4cXV1eA"),
])
def test_redaction(text, leak):
    assert leak not in redact(text)


def test_formatter_writes_json_with_request_id():
    record = logging.LogRecord("govhub", logging.INFO, __file__, 1, "hello %s", ("13800000001",), None)
    record.request_id = "abc123"
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abc123" and line["msg"] == "hello 138****0001" and line["level"] == "INFO"


@pytest.fixture
def captured_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    loggers = [logging.getLogger(n) for n in ("", "govhub", "govhub.access", "govhub.errors", "httpx", "sanic.error")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield stream
    for lg, level in zip(loggers, levels):
        lg.removeHandler(handler)
        lg.setLevel(level)


async def test_a_citizen_journey_leaves_no_personal_data_in_logs(client, mock_url, captured_logs):
    wechat = await login_wechat(client, mock_url)
    await verify_real_name(client, "/wx/v1", wechat, ALICE)
    await client.get("/wx/v1/me", headers=bearer(wechat))
    await client.get("/wx/v1/me", headers={"Authorization": "Bearer " + wechat["access_token"] + "x"})
    app = await login_app(client, mock_url, phone="13800000001")
    output = captured_logs.getvalue()
    assert output, "nothing was logged"
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    assert any(line.get("path") == "/wx/v1/me" and len(line["request_id"]) >= 8 for line in lines)
    for secret in (ALICE["id_number"], ALICE["phone"], wechat["access_token"], wechat["refresh_token"],
                   app["refresh_token"]):
        assert secret not in output
