"""Sanic's own exceptions become problems with the right status: its response timeout (a 503) is
one to send again, not the 500 that says the hub broke."""
from __future__ import annotations

import json

from sanic.exceptions import NotFound, ServerError, ServiceUnavailable

from bff.common.errors import OUTAGE_RETRY_AFTER_SECONDS, PROBLEM, framework_problem


def _answer(error):
    response = framework_problem(None, error)
    return response.status, response.headers.get("Retry-After"), response.content_type, json.loads(response.body)


def test_sanics_response_timeout_is_a_503_to_retry():
    status, retry_after, content_type, body = _answer(ServiceUnavailable("Response Timeout"))
    assert (status, body["status"], body["code"]) == (503, 503, "service_unavailable")
    assert retry_after == str(OUTAGE_RETRY_AFTER_SECONDS) and content_type == PROBLEM


def test_another_framework_5xx_is_the_500_that_says_nothing_of_the_internals():
    status, retry_after, _, body = _answer(ServerError("stack details"))
    assert (status, body["code"], retry_after) == (500, "internal_error", None)
    assert "stack details" not in json.dumps(body)


def test_a_framework_4xx_keeps_its_status_and_stable_code():
    status, _, _, body = _answer(NotFound("nothing here"))
    assert (status, body["code"]) == (404, "route_not_found")
