"""The edge refuses bad input in one place (bff/common/jsonio.py, bff/common/parsing.py): bodies too
deep, NaN and Infinity, lone surrogates, NUL and integers no column holds are a clear 400 at parse
time and leave nothing stored; a malformed multipart part is a 400; every route holds the body limit;
and every answer is JSON a strict parser reads."""
from __future__ import annotations

import json
import math

import pytest

from bff.common.paths import shape_of
from domain.applications.models import Application
from tests.support.applications import register_node
from tests.support.citizens import ALICE, bearer, login_wechat, verify_real_name

MATTER = {"code": "330100-EDGE-0001", "catalog_code": "NAT-0099", "name": "边界测试事项", "kind": "public_service",
          "region_code": "330100000000", "department_code": "330100-housing_fund", "online_depth": 4,
          "channels": ["wechat", "alipay", "app", "pc"],
          "form_schema": {"type": "object", "properties": {"amount": {"type": "number"}, "note": {"type": "string"},
                                                           "nested": {}}}}


@pytest.fixture
async def citizen(client, mock_url, resources):
    """An L2 citizen on WeChat and a matter whose form takes any number, any text, anything nested."""
    report = await resources.catalog.upsert([MATTER])
    assert not report.rejected, report.rejected
    await register_node(resources, "zj-platform", "province", "330000000000")
    session = await login_wechat(client, mock_url)
    verified = await verify_real_name(client, "/wx/v1", session, ALICE)
    return bearer(verified.json()["session"] or session)


async def _submit(client, headers, form_text: str, key: str = "edge-1"):
    body = '{"matter_code": "330100-EDGE-0001", "form": ' + form_text + "}"
    return await client.post("/wx/v1/applications", content=body.encode(),
                             headers={**headers, "Idempotency-Key": key, "Content-Type": "application/json"})


def _problem(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = json.loads(response.text, parse_constant=_refuse_constant)
    assert problem["code"] == code, problem
    return problem


def _refuse_constant(name):
    raise AssertionError(f"the answer holds {name}: not JSON")


@pytest.mark.parametrize("form", ['{"amount": NaN}', '{"amount": Infinity}', '{"amount": -Infinity}',
                                  '{"amount": 1e999}'])
async def test_nan_and_infinity_are_refused_at_parse_time(client, citizen, form):
    _problem(await _submit(client, citizen, form), 400, "malformed_json")
    assert await Application.all().count() == 0


async def test_a_body_nested_thousands_deep_is_a_400_not_a_recursion_error(client, citizen):
    deep = "[" * 3000 + "]" * 3000
    problem = _problem(await _submit(client, citizen, '{"nested": ' + deep + "}"), 400, "malformed_json")
    assert "嵌套" in problem["detail"]
    just_too_deep = "[" * 31 + "]" * 31  # the body, the form and 31 arrays: 33 levels
    _problem(await _submit(client, citizen, '{"nested": ' + just_too_deep + "}"), 400, "malformed_json")
    assert await Application.all().count() == 0


async def test_a_body_as_deep_as_allowed_is_read(client, citizen):
    deep_enough = "[" * 30 + "]" * 30  # 32 levels with the body and the form
    response = await _submit(client, citizen, '{"nested": ' + deep_enough + "}")
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("text, field", [(r'{"note": "a\ud800b"}', "form.note"),
                                         (r'{"note": "\udfff"}', "form.note"),
                                         (r'{"\ud83d": "key"}', "form.\\ud83d"),
                                         (r'{"note": "nul\u0000"}', "form.note")])
async def test_lone_surrogates_and_nul_in_text_are_refused(client, citizen, text, field):
    problem = _problem(await _submit(client, citizen, text), 400, "invalid_input")
    assert problem["errors"][0]["field"] == field
    assert await Application.all().count() == 0


@pytest.mark.parametrize("number", [2**63, 2**64, -(2**63) - 1, 10**30])
async def test_integers_beyond_int64_are_refused_naming_the_field(client, citizen, number):
    problem = _problem(await _submit(client, citizen, '{"amount": %d}' % number), 400, "invalid_input")
    assert problem["errors"] == [{"field": "form.amount", "message": "数值超出范围"}]
    assert await Application.all().count() == 0


async def test_the_widest_integers_and_real_text_still_pass(client, citizen):
    response = await _submit(client, citizen, json.dumps({"amount": 2**63 - 1, "note": "中文 ✓ 😀"}))
    assert response.status_code == 201, response.text
    assert response.json()["form"] == {"amount": 2**63 - 1, "note": "中文 ✓ 😀"}


@pytest.mark.parametrize("part", [
    b'Content-Disposition form-data; name="file"\r\n',  # a header line without a colon
    b'Content-Disposition: form-data; name="file"; filename*=nope\'\'%41.pdf\r\n',  # an unknown charset
    b'Content-Disposition: form-data; name="file"; filename="\xff\xfe.pdf"\r\n',  # not UTF-8
])
async def test_a_malformed_multipart_part_is_a_400(client, citizen, part):
    body = b"--edge\r\n" + part + b"Content-Type: application/pdf\r\n\r\n%PDF-1.7\r\n--edge--\r\n"
    response = await client.post("/wx/v1/applications/materials", content=body,
                                 headers={**citizen, "Content-Type": "multipart/form-data; boundary=edge"})
    _problem(response, 400, "invalid_input")


async def test_every_route_that_takes_a_body_holds_the_size_limit(client, app, settings):
    """Refused before anything else reads it: no token is needed to be told 413."""
    oversize = b"{" + b" " * settings.max_body_bytes + b"}"
    checked = 0
    for route in app.router.routes:
        if getattr(route.ctx, "own_body_limit", False):  # the upload streams and limits itself (tested apart)
            continue
        path = "/" + _filled(route.path)
        for method in sorted(route.methods & {"POST", "PUT", "PATCH", "DELETE"}):
            response = await client.request(method, path, content=oversize,
                                            headers={"Content-Type": "application/json"})
            assert response.status_code == 413, (method, path, response.text[:200])
            assert response.json()["code"] == "payload_too_large"
            checked += 1
    assert checked > 50


def _filled(path: str) -> str:
    """A route's path with its shape's example in each parameter (bff/common/paths.py)."""
    return "/".join(shape_of(segment[1:-1].split(":")[-1]).example if segment.startswith("<") else segment
                    for segment in path.split("/"))


def test_answers_are_written_without_nan():
    from bff.common import jsonio

    with pytest.raises(ValueError):
        jsonio.dumps({"amount": math.nan})
    assert jsonio.dumps({"名": 1}, ensure_ascii=False) == '{"名":1}'


async def test_a_query_parameter_given_twice_is_refused(client):
    answer = await client.get("/wx/v1/matters", params=[("q", "社保"), ("q", "公积金")])
    assert answer.status_code == 400 and answer.json()["errors"] == [{"field": "q", "message": "只能给出一次"}]
