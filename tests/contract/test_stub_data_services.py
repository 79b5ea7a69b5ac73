"""The department stub as a data-exchange provider (adapters/departments/stub/data_services.py),
over real HTTP: it answers only what the hub signed, for the services its nodes provide, in the
shape the catalog publishes, never a full ID number; it misbehaves on request and records what
crossed. And the consumer script (stub/consumer.py) signs its calls to the hub as docs/nodes.md says."""
from __future__ import annotations

import asyncio
import sys
import time
from datetime import date
from urllib.parse import unquote

import httpx
import jsonschema
import pytest
from openapi_spec_validator import validate as validate_openapi
from stdnum.cn import ric, uscc

from adapters.departments.node_client import SignedNodeClient
from adapters.departments.stub import consumer, data_services
from adapters.departments.stub.server import DEMO_NODE_KEYS
from domain.nodes import signatures
from tests.support.citizens import ALICE, CAROL, ERIN
from tests.support.clock import suite_clock
from tests.support.department_stub import DEVKEYS, HubDouble, running_stub
from tests.support.mock_server import REPO_ROOT

HUB_KEY = (DEVKEYS / "hub_node_private.pem").read_bytes()
NOT_THE_HUB_KEY = (DEVKEYS / "demo_node_beijing_psb_private.pem").read_bytes()
PROVIDERS = ("bj-psb", "bj-hrss", "bj-amr")
HOUSEHOLD = "household-register-extract"
PAYMENTS = "social-insurance-payments"
BUSINESS = "business-registration"
ALICE_ID, CAROL_ID, ERIN_ID = ALICE["id_number"], CAROL["id_number"], ERIN["id_number"]
EXTRACT = f"/extract?id_number={ALICE_ID}"
COMPANY = "91110108MA0044EE3D"  # 北京青禾数据科技有限公司, DEMO_COMPANIES
ON = date(2026, 6, 15)


def _id_number(first17: str) -> str:
    return first17 + ric.calc_check_digit(first17 + "X")


def _credit_code(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)


@pytest.fixture(scope="module")
def stub():
    nodes = {code: DEVKEYS / DEMO_NODE_KEYS[code] for code in PROVIDERS}
    with running_stub(review=False, nodes=nodes) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh(request):
    if "stub" in request.fixturenames:
        stub = request.getfixturevalue("stub")
        httpx.post(f"{stub.url}/_stub/services/reset", timeout=5).raise_for_status()


def _x_road(node: str, service: str, **extra: str) -> dict[str, str]:
    subsystem = data_services.definition(service)["subsystem"]
    return {"X-Road-Client": "CN/GOV/zj-platform/case-system",
            "X-Road-Service": f"CN/GOV/{node}/{subsystem}/{service}",
            "X-Road-Id": "2b7f0c1e-4f5d-4d36-9a7e-0f0f6c1d9a11", **extra}


async def _call(stub, node: str, service: str, tail: str, *, key: bytes = HUB_KEY, method: str = "GET",
                headers: dict[str, str] | None = None, signed: bool = True,
                timeout: float = 5.0) -> httpx.Response:
    """What the hub sends a provider: signed as govhub, with the X-Road headers."""
    async with httpx.AsyncClient(timeout=timeout) as http:
        client = SignedNodeClient(base_url=stub.endpoint(node), private_key_pem=key, http=http,
                                  retry_delays=(), now=suite_clock.timestamp)
        request = client.build(method, f"services/{service}{tail}")
        request.headers.update(_x_road(node, service) if headers is None else headers)
        if not signed:
            for name in signatures.HEADERS:
                del request.headers[name]
        return await http.send(request)


def _calls(stub, **params) -> list[dict]:
    return httpx.get(f"{stub.url}/_stub/services/calls", params=params, timeout=5).json()["calls"]


def _fault(stub, mode: str, **options) -> None:
    answer = httpx.post(f"{stub.url}/_stub/services/fault", json={"mode": mode, **options}, timeout=5)
    assert answer.status_code == 201, answer.text


def _clear_fault(stub) -> None:
    httpx.delete(f"{stub.url}/_stub/services/fault", timeout=5).raise_for_status()


def _check_shape(service: str, body: dict) -> None:
    """Exactly the published fields, valid against the service's own OpenAPI response schema."""
    published = data_services.definition(service)
    assert list(body) == [field["name"] for field in published["fields"]]
    doc = published["openapi"]
    [operation] = [op for item in doc["paths"].values() for op in item.values()]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(body, {**schema, "components": doc["components"]})


# --- what is published ------------------------------------------------------------------------


def test_each_definition_is_complete_and_its_openapi_valid():
    assert [d["code"] for d in data_services.SERVICE_DEFINITIONS] == [HOUSEHOLD, PAYMENTS, BUSINESS]
    for service in data_services.SERVICE_DEFINITIONS:
        assert set(service) == {"provider", "code", "subsystem", "title", "description", "owner_department",
                                "operations", "subject", "fields", "openapi"}
        key = DEMO_NODE_KEYS[service["provider"]]
        assert (DEVKEYS / key).is_file() and (DEVKEYS / key.replace("_private", "_public")).is_file()
        validate_openapi(service["openapi"])
        paths = service["openapi"]["paths"]
        assert {(op["method"], op["path"]) for op in service["operations"]} == {
            (method.upper(), path) for path, item in paths.items() for method in item}
        for field in service["fields"]:
            assert set(field) == {"name", "title", "classification", "source"}
            assert field["classification"] in data_services.CLASSIFICATIONS
            assert field["title"] and field["source"]
        schemas = service["openapi"]["components"]["schemas"]
        [answer] = [schema for name, schema in schemas.items() if name != "Error"]
        assert list(answer["properties"]) == [f["name"] for f in service["fields"]]
    assert {d["provider"] for d in data_services.SERVICE_DEFINITIONS} == set(PROVIDERS)


def test_the_subject_is_where_the_definition_says():
    household, payments, business = (data_services.definition(c) for c in (HOUSEHOLD, PAYMENTS, BUSINESS))
    assert household["subject"] == {"in": "query", "name": "id_number", "kind": "person"}
    assert data_services.subject_value(household, "/extract", f"id_number={ALICE_ID}") == ALICE_ID
    query = f"to=2026-01&id_number={ERIN_ID}&from=2025-01"
    assert data_services.subject_value(payments, "/payments", query) == ERIN_ID
    assert data_services.subject_value(household, "/extract", "id_number=1&id_number=2") is None  # pollution
    assert business["subject"] == {"in": "path", "name": "credit_code", "index": 1, "kind": "enterprise"}
    assert data_services.subject_value(business, f"/enterprises/{COMPANY}", "") == COMPANY
    assert data_services.subject_value(business, "/enterprises", "") is None


def test_generated_answers_fit_their_schemas_are_deterministic_and_never_carry_the_number():
    people = [_id_number(f"{region}{born}{seq:03d}")
              for region in ("110101", "110105", "110108", "110228", "110113")
              for born, seq in (("19520704", 11), ("19790218", 24), ("19911130", 37), ("20100509", 42))]
    period = {"from": ["2024-01"], "to": ["2026-05"]}
    for number in people:
        extract = data_services.household_extract(number, ON)
        _check_shape(HOUSEHOLD, extract)
        assert extract == data_services.household_extract(number, ON)
        assert extract["id_number_masked"] == data_services.mask_id_number(number)
        assert extract["id_number_masked"] == number[0] + "*" * 16 + number[-1]
        assert extract["sex"] == ("男" if int(number[16]) % 2 else "女")
        assert extract["birth_date"] == ric.get_birth_date(number).isoformat()
        try:
            payments = data_services.social_insurance_payments(number, period, ON)
        except data_services.Refused as refused:  # not insured here (a child, or one of the few on no record)
            assert (refused.status, refused.code) == (404, "not_found")
            continue
        _check_shape(PAYMENTS, payments)
        assert payments["name"] == extract["name"]  # one person in every service
        assert number not in repr(extract) + repr(payments)
    companies = [_credit_code(f"9{kind}{region}{org}") for kind in "123"
                 for region in ("110000", "110105", "110228") for org in ("MA01R7K5T", "592384761")]
    for code in companies:
        registration = data_services.business_registration(code, ON)
        _check_shape(BUSINESS, registration)
        assert registration == data_services.business_registration(code, ON)


# --- answering the hub ------------------------------------------------------------------------


async def test_the_household_extract_answers_the_published_shape(stub):
    answer = await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json; charset=utf-8"
    body = answer.json()
    _check_shape(HOUSEHOLD, body)
    assert (body["name"], body["birth_date"], body["relation_to_head"]) == (ALICE["name"], "1990-03-07", "户主")
    assert body["household_address"].startswith("北京市朝阳区")
    assert ALICE_ID not in answer.text and body["id_number_masked"] == "1****************7"


async def test_social_insurance_payments_for_a_period(stub):
    answer = await _call(stub, "bj-hrss", PAYMENTS, f"/payments?id_number={ALICE_ID}&from=2024-01&to=2024-12")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    _check_shape(PAYMENTS, body)
    assert [m["month"] for m in body["months"]] == [f"2024-{m:02d}" for m in range(1, 13)]
    july = body["months"][6]  # a new insurance year: the base is 8000 grown 6% a year since 2012
    assert july == {"month": "2024-07", "base": "16098.00", "employer": "4298.17", "personal": "1693.29"}
    assert (body["total_months"], body["status"], body["insured_city"]) == (150, "正常参保", "北京市")
    erin = await _call(stub, "bj-hrss", PAYMENTS, f"/payments?id_number={ERIN_ID}")  # household in Shenzhen
    assert erin.status_code == 200 and len(erin.json()["months"]) == 12  # the 12 months to last month
    backwards = await _call(stub, "bj-hrss", PAYMENTS, f"/payments?id_number={ALICE_ID}&from=2024-12&to=2024-01")
    assert (backwards.status_code, backwards.json()["code"]) == (400, "invalid_period")


async def test_business_registration_by_credit_code_in_the_path(stub):
    answer = await _call(stub, "bj-amr", BUSINESS, f"/enterprises/{COMPANY}")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    _check_shape(BUSINESS, body)
    assert (body["credit_code"], body["name"]) == (COMPANY, "北京青禾数据科技有限公司")
    generated = await _call(stub, "bj-amr", BUSINESS, f"/enterprises/{_credit_code('91110105MA01R7K5T')}")
    assert generated.status_code == 200
    assert generated.json()["registration_authority"] == "北京市朝阳区市场监督管理局"


async def test_unknown_subjects_are_404_and_invalid_ones_400(stub):
    shanghai = await _call(stub, "bj-psb", HOUSEHOLD, f"/extract?id_number={CAROL_ID}")
    assert (shanghai.status_code, shanghai.json()["code"]) == (404, "not_found")
    assert CAROL_ID not in shanghai.text
    uninsured = await _call(stub, "bj-hrss", PAYMENTS, f"/payments?id_number={CAROL_ID}")
    assert (uninsured.status_code, uninsured.json()["code"]) == (404, "not_found")
    shanghai_company = _credit_code("91310000MA01R7K5T")
    elsewhere = await _call(stub, "bj-amr", BUSINESS, f"/enterprises/{shanghai_company}")
    assert (elsewhere.status_code, elsewhere.json()["code"]) == (404, "not_found")

    wrong_check = ALICE_ID[:-1] + "8"
    invalid = await _call(stub, "bj-psb", HOUSEHOLD, f"/extract?id_number={wrong_check}")
    assert (invalid.status_code, invalid.json()["code"]) == (400, "invalid_id_number")
    assert wrong_check not in invalid.text
    for query in ("", "?id_number=", "?id_number=12345", f"?id_number={ALICE_ID}&id_number={ERIN_ID}"):
        assert (await _call(stub, "bj-psb", HOUSEHOLD, f"/extract{query}")).status_code == 400, query
    bad_code = await _call(stub, "bj-amr", BUSINESS, f"/enterprises/{COMPANY[:-1]}0")
    assert (bad_code.status_code, bad_code.json()["code"]) == (400, "invalid_credit_code")


async def test_only_the_hubs_signature_is_answered_and_refusals_are_not_recorded(stub):
    unsigned = await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT, signed=False)
    assert (unsigned.status_code, unsigned.json()["code"]) == (401, "signature_missing")
    forged = await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT, key=NOT_THE_HUB_KEY)
    assert (forged.status_code, forged.json()["code"]) == (401, "signature_invalid")
    assert _calls(stub) == []
    async with httpx.AsyncClient(timeout=5) as http:  # the very same request twice: its nonce is spent
        client = SignedNodeClient(base_url=stub.endpoint("bj-amr"), private_key_pem=HUB_KEY, http=http,
                                  now=suite_clock.timestamp)
        request = client.build("GET", f"services/{BUSINESS}/enterprises/{COMPANY}")
        request.headers.update(_x_road("bj-amr", BUSINESS))
        assert (await http.send(request)).status_code == 200
        replayed = await http.send(request)
    assert (replayed.status_code, replayed.json()["code"]) == (401, "nonce_replayed")


async def test_a_service_is_answered_only_by_its_provider_for_its_operations(stub):
    other = await _call(stub, "bj-psb", PAYMENTS, f"/payments?id_number={ALICE_ID}")
    assert (other.status_code, other.json()["code"]) == (404, "service_not_here")
    unknown = await _call(stub, "bj-psb", "no-such-service", "/extract", headers=_x_road("bj-psb", HOUSEHOLD))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "service_not_here")
    not_here = await _call(stub, "zj-platform", HOUSEHOLD, EXTRACT)
    assert (not_here.status_code, not_here.json()["code"]) == (404, "node_not_here")
    posted = await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT, method="POST")
    assert (posted.status_code, posted.json()["code"]) == (405, "method_not_allowed")
    assert posted.headers["allow"] == "GET"
    for tail in ("/elsewhere", "", "/extract/more"):
        answer = await _call(stub, "bj-psb", HOUSEHOLD, tail)
        assert (answer.status_code, answer.json()["code"]) == (404, "operation_not_found"), tail
    assert (await _call(stub, "bj-amr", BUSINESS, "/enterprises/")).status_code == 404


async def test_the_x_road_headers_must_name_this_service(stub):
    bare = await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT, headers={})
    assert (bare.status_code, bare.json()["code"]) == (400, "x_road_headers_missing")
    elsewhere = {**_x_road("bj-psb", HOUSEHOLD), "X-Road-Service": "CN/GOV/bj-psb/psb-data/another-service"}
    mismatch = await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT, headers=elsewhere)
    assert (mismatch.status_code, mismatch.json()["code"]) == (400, "x_road_service_mismatch")


async def test_every_call_that_crossed_is_recorded_with_its_x_road_headers(stub):
    issue = "京公（朝）立字〔2026〕1号"
    headers = _x_road("bj-hrss", PAYMENTS, **{"X-Road-UserId": "CN110101197501010047",
                                              "X-Road-Issue": consumer.encode_part(issue)})
    query = f"id_number={ALICE_ID}&from=2025-01&to=2025-03"
    assert (await _call(stub, "bj-hrss", PAYMENTS, f"/payments?{query}", headers=headers)).status_code == 200
    await _call(stub, "bj-amr", BUSINESS, f"/enterprises/{COMPANY}")
    [call] = _calls(stub, service=PAYMENTS)
    assert {k: v for k, v in call.items() if k != "at"} == {
        "node": "bj-hrss", "service": PAYMENTS, "method": "GET", "path": "/payments", "query": query,
        "headers": headers, "status": 200, "fault": None}
    assert unquote(call["headers"]["X-Road-Issue"]) == issue and call["at"]
    assert [c["node"] for c in _calls(stub)] == ["bj-hrss", "bj-amr"]
    assert [c["path"] for c in _calls(stub, node="bj-amr")] == [f"/enterprises/{COMPANY}"]


async def test_fault_switch_5xx_then_slow_then_down(stub):
    target = f"/enterprises/{COMPANY}"
    _fault(stub, "5xx", remaining=1)
    assert (await _call(stub, "bj-amr", BUSINESS, target)).status_code == 503
    assert (await _call(stub, "bj-amr", BUSINESS, target)).status_code == 200  # used up

    _fault(stub, "slow", seconds=0.6, remaining=1)
    began = time.monotonic()
    assert (await _call(stub, "bj-amr", BUSINESS, target)).status_code == 200
    assert time.monotonic() - began >= 0.6
    _fault(stub, "slow", seconds=2)
    with pytest.raises(httpx.TimeoutException):  # the hub gives up
        await _call(stub, "bj-amr", BUSINESS, target, timeout=0.3)
    _clear_fault(stub)

    _fault(stub, "down", node="bj-psb")  # only bj-psb is down, until cleared
    with pytest.raises(httpx.TransportError):
        await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT)
    assert (await _call(stub, "bj-amr", BUSINESS, target)).status_code == 200
    described = httpx.get(f"{stub.url}/_stub/services/fault", timeout=5).json()["fault"]
    assert described == {"mode": "down", "seconds": 5.0, "node": "bj-psb"}
    _clear_fault(stub)
    assert (await _call(stub, "bj-psb", HOUSEHOLD, EXTRACT)).status_code == 200
    amr = [(c["fault"], c["status"]) for c in _calls(stub, node="bj-amr")]
    assert amr[:3] == [("5xx", 503), (None, 200), ("slow", 200)]
    assert [(c["fault"], c["status"]) for c in _calls(stub, node="bj-psb")] == [("down", None), (None, 200)]


def test_a_bad_fault_is_refused(stub):
    for body in ({"mode": "sometimes"}, {"mode": "slow", "seconds": -1}, {"mode": "5xx", "status": 404},
                 {"mode": "down", "remaining": 0}):
        answer = httpx.post(f"{stub.url}/_stub/services/fault", json=body, timeout=5)
        assert (answer.status_code, answer.json()["code"]) == (400, "invalid_fault"), body


def test_the_stub_lists_the_definitions_of_the_nodes_it_plays(stub):
    listed = httpx.get(f"{stub.url}/_stub/services/definitions", timeout=5).json()["services"]
    assert listed == data_services.SERVICE_DEFINITIONS


# --- the consumer script ----------------------------------------------------------------------

PSB_KEY = (DEVKEYS / "demo_node_beijing_psb_private.pem").read_bytes()
PSB_PUBLIC_KEY = signatures.load_public_key((DEVKEYS / "demo_node_beijing_psb_public.pem").read_bytes())
SERVICE = f"CN/GOV/bj-hrss/hrss-data/{PAYMENTS}/payments?id_number={ALICE_ID}&from=2025-01"


def _verifies(node: str, method: str, target: str, headers, body: bytes = b"") -> bool:
    path, _, query = target.partition("?")
    message = signatures.string_to_sign(node=node, method=method, path=path, query_string=query,
                                        timestamp=headers["x-gov-timestamp"], nonce=headers["x-gov-nonce"],
                                        body=body)
    return headers["x-gov-node"] == node and signatures.verify(PSB_PUBLIC_KEY, message,
                                                                headers["x-gov-signature"])


async def test_the_consumer_builds_a_signed_x_road_request():
    async with httpx.AsyncClient() as http:
        request = consumer.build_request(http, hub="http://hub.example/", node="bj-psb", private_key_pem=PSB_KEY,
                                         method="get", service=SERVICE, client_subsystem="case-system",
                                         user_id="CN110101197501010047", issue="案件号 2026-1",
                                         timestamp=int(suite_clock.timestamp()))
    assert request.method == "GET"
    assert request.url.raw_path.decode() == f"/r1/{SERVICE}"
    assert request.headers["X-Road-Client"] == "CN/GOV/bj-psb/case-system"
    assert request.headers["X-Road-UserId"] == "CN110101197501010047"
    issue = request.headers["X-Road-Issue"]
    assert issue.isascii() and unquote(issue) == "案件号 2026-1"
    assert "X-Road-Id" not in request.headers  # the hub assigns it
    assert _verifies("bj-psb", "GET", request.url.raw_path.decode(), request.headers)
    assert consumer.client_id("bj-psb", "case-system", instance="XX") == "XX/GOV/bj-psb/case-system"
    assert consumer.service_target(f"/r1/{SERVICE}") == consumer.service_target(SERVICE)
    assert consumer.service_target(SERVICE) == f"/r1/{SERVICE}"
    with pytest.raises(ValueError):
        consumer.service_target("CN/GOV/bj-hrss/hrss-data")  # no service code


async def test_the_consumer_calls_the_hub_signed_as_the_node():
    async with HubDouble() as hub:
        answer = await consumer.call(hub=hub.url, node="bj-psb", private_key_pem=PSB_KEY, service=SERVICE,
                                     client_subsystem="case-system", issue="案件号", now=suite_clock.timestamp)
        assert answer.status_code == 200
        [(method, target, headers, body)] = hub.received
    assert (method, target, body) == ("GET", f"/r1/{SERVICE}", b"")
    assert _verifies("bj-psb", "GET", target, headers)
    assert headers["x-road-client"] == "CN/GOV/bj-psb/case-system"
    assert unquote(headers["x-road-issue"]) == "案件号"


async def test_the_consumer_runs_as_a_module():
    async with HubDouble() as hub:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "adapters.departments.stub.consumer", "--hub", hub.url, "--node", "bj-psb",
            "--client-subsystem", "case-system", "--user-id", "CN110101197501010047", "GET", SERVICE,
            cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
        [(_method, target, headers, _body)] = hub.received
    assert process.returncode == 0, err.decode()
    assert out.decode().startswith("HTTP 200 ") and '"status": "ok"' in out.decode()
    assert _verifies("bj-psb", "GET", target, headers) and headers["x-road-userid"] == "CN110101197501010047"
