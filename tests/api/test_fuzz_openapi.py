"""Schemathesis over the whole OpenAPI (issue #12, test b): every operation, as the caller of its
audience (tests/support/fuzz.py), with schemathesis' own phases: the documented examples, the
coverage cases (each constraint's boundaries and just past them: the longest id and one character
more, the largest integer and the next, a missing required field, a wrong type) and fuzzed cases.
No answer is a 5xx; every answer has a documented status, content type, headers and body shape;
data that breaks the schema is refused with a 4xx.

Bounded and repeatable: ``GOVHUB_FUZZ_EXAMPLES`` fuzzed cases per operation (default 8), a fixed
seed, deterministic generation, no shrinking (a failure is reported as drawn). One subtest per
operation. It calls the in-process app like the other API tests: the suite's database and Redis,
emptied after it like after any other test.
"""
from __future__ import annotations

import asyncio
import os

import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.admins import cheap_admin_services
from tests.support.fuzz import audience, build_request, callers, seed, still_valid

EXAMPLES = int(os.environ.get("GOVHUB_FUZZ_EXAMPLES", "8"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance, negative_data_rejection]
CONFIG = SchemathesisConfig.from_dict({
    "seed": 20261127,
    "generation": {
        "max-examples": EXAMPLES, "deterministic": True, "no-shrink": True, "database": "none",
        # Credentials are the callers', never drawn: which caller may do what is the authorization
        # matrix's question (tests/support/authorization_matrix.py), not this test's.
        "with-security-parameters": False,
    },
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True}, "fuzzing": {"enabled": True},
               "stateful": {"enabled": False}},
})

schema = schemathesis.pytest.from_fixture("hub_schema")


@pytest.fixture(autouse=True)
def _subtest_names(request):
    """schemathesis 4.32 names each operation's subtest by editing ``Node._nodeid``, which pytest 9
    no longer has (it raises AttributeError): give it one to edit."""
    if not hasattr(request.node, "_nodeid"):
        request.node._nodeid = request.node.nodeid


@pytest.fixture
async def loop(resources):
    return asyncio.get_running_loop()


@pytest.fixture
async def fuzz(client, app, resources, mock_url):
    """Every audience's callers and a few real ids (tests/support/fuzz.py)."""
    with cheap_admin_services(app) as accounts:
        made = await callers(client, resources, mock_url, accounts)
        known = await seed(client, resources, made)
        yield {"callers": made, "known": known, "operation": None, "turn": 0}


@pytest.fixture
async def hub_schema(client, fuzz):
    """The OpenAPI document as the app serves it; known ids are each operation's first examples."""
    spec = (await client.get("/openapi.json")).json()
    fuzz["known"].as_examples(spec)
    return schemathesis.openapi.from_dict(spec, config=CONFIG)


@schema.parametrize()
def test_no_operation_answers_5xx_or_off_its_schema(case, fuzz, client, loop, resources, mock_url):
    if fuzz["operation"] != case.operation.label:  # a new operation: callers still logged in, limits afresh
        loop.run_until_complete(still_valid(client, resources, mock_url, fuzz["callers"]))
        fuzz["operation"] = case.operation.label
    who = fuzz["callers"][audience(case.path)]
    fuzz["turn"] += 1
    caller = who[fuzz["turn"] % len(who)]  # citizens take turns at L2 and L3
    response = loop.run_until_complete(client.send(build_request(client, case, caller)))
    case.validate_response(response, checks=CHECKS)
