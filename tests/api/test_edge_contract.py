"""The OpenAPI tells the whole contract: every query parameter a route reads is documented from the
model it is read with, the headers that matter are named, and every integer a caller sends is
bounded to what the store holds."""
from __future__ import annotations

import pytest


INT64_MAX = 2**63 - 1


@pytest.fixture
async def spec(client) -> dict:
    return (await client.get("/openapi.json")).json()


def _params(spec: dict, method: str, path: str, where: str = "query") -> dict:
    op = spec["paths"][path][method]
    return {p["name"]: p for p in op.get("parameters", []) if p["in"] == where}


async def test_the_matter_search_documents_its_filters(spec):
    for prefix in ("/wx/v1", "/alipay/v1", "/app/v1"):
        documented = _params(spec, "get", f"{prefix}/matters")
        assert set(documented) == {"q", "region", "department", "kind", "audience", "life_event",
                                   "cross_province", "zone", "cursor", "limit"}
        assert documented["region"]["schema"]["pattern"] == r"^\d{12}$"
        assert documented["limit"]["schema"]["maximum"] == 50 and not documented["limit"]["required"]


@pytest.mark.parametrize("method, path, names", [
    ("get", "/wx/v1/applications", {"status", "matter", "submitted_from", "submitted_until", "cursor", "limit"}),
    ("get", "/app/v1/home", {"region"}),
    ("get", "/wx/v1/licenses/{license_id}", {"full"}),
    ("post", "/wx/v1/licenses/{license_id}/presentations", {"format", "scale"}),
    ("get", "/wx/v1/license-access-log", {"limit", "before"}),
    ("get", "/wx/v1/me/notifications", {"before", "limit"}),
    ("get", "/admin/v1/audit", {"target_type", "target_id", "actor", "since", "limit", "cursor"}),
    ("get", "/admin/v1/deliveries", {"status", "kind", "target", "date", "limit", "cursor"}),
    ("get", "/admin/v1/topics", {"status", "channel", "region", "q"}),
    ("get", "/admin/v1/topics/{code}/preview", {"channel", "region", "at"}),
    ("get", "/admin/v1/bundle-runs", {"status", "stuck", "bundle", "limit"}),
    ("get", "/public/v1/topics", {"channel", "region"}),
    ("get", "/public/v1/regions", {"q", "level", "limit"}),
    ("get", "/public/v1/trust-list", {"since"}),
])
async def test_routes_document_the_query_parameters_they_read(spec, method, path, names):
    assert set(_params(spec, method, path)) == names


async def test_a_query_read_without_its_model_documented_fails_loudly(app):
    from types import SimpleNamespace

    from pydantic import BaseModel

    from bff.common.parsing import parse_query

    class Undocumented(BaseModel):
        q: str | None = None

    async def handler(request):
        return None

    request = SimpleNamespace(route=SimpleNamespace(handler=handler), method="GET", path="/x", args={})
    with pytest.raises(RuntimeError, match="doc\\(query=Undocumented\\)"):
        parse_query(request, Undocumented)


@pytest.mark.parametrize("method, path, header, required", [
    ("post", "/wx/v1/applications", "Idempotency-Key", True),
    ("post", "/wx/v1/applications/{number}/withdrawal", "Idempotency-Key", False),
    ("post", "/app/v1/bundles/{code}/submissions", "Idempotency-Key", True),
    ("post", "/alipay/v1/housing-fund/withdrawals/{withdrawal_id}/submission", "Idempotency-Key", True),
    ("get", "/app/v1/home", "If-None-Match", False),
    ("patch", "/admin/v1/topics/{code}", "If-Match", False),
    ("post", "/app/v1/session", "X-Device-Id", False),
])
async def test_request_headers_that_matter_are_documented(spec, method, path, header, required):
    assert _params(spec, method, path, "header")[header]["required"] is required


@pytest.mark.parametrize("method, path, status, header", [
    ("post", "/wx/v1/applications", "201", "Location"),
    ("post", "/wx/v1/applications", "201", "Idempotent-Replayed"),
    ("post", "/wx/v1/housing-fund/withdrawals", "201", "Location"),
    ("get", "/app/v1/home", "200", "ETag"),
    ("get", "/app/v1/home", "304", "ETag"),
    ("get", "/admin/v1/topics/{code}", "200", "ETag"),
    ("post", "/wx/v1/applications", "429", "Retry-After"),
    ("post", "/admin/v1/session", "429", "Retry-After"),
    ("get", "/wx/v1/me", "401", "WWW-Authenticate"),
])
async def test_answer_headers_that_matter_are_documented(spec, method, path, status, header):
    assert header in spec["paths"][path][method]["responses"][status]["headers"]


def _integers(schema, spec, seen=()):
    """Every integer schema inside ``schema`` (following $refs), with where it is."""
    if isinstance(schema, list):
        for item in schema:
            yield from _integers(item, spec, seen)
        return
    if not isinstance(schema, dict):
        return
    ref = schema.get("$ref")
    if ref:
        if ref not in seen:
            name = ref.rsplit("/", 1)[-1]
            yield from _integers(spec["components"]["schemas"][name], spec, seen + (ref,))
        return
    if schema.get("type") == "integer":
        yield schema
    for key, value in schema.items():
        if key in ("properties", "items", "allOf", "anyOf", "oneOf", "additionalProperties"):
            yield from _integers(value if key != "properties" else list(value.values()), spec, seen)


async def test_every_integer_a_caller_sends_is_bounded_by_its_column(spec):
    checked = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            sent = [p["schema"] for p in op.get("parameters", [])]
            sent += [c["schema"] for c in op.get("requestBody", {}).get("content", {}).values()]
            for schema in _integers(sent, spec):
                where = f"{method.upper()} {path}"
                assert "maximum" in schema and schema["maximum"] <= INT64_MAX, (where, schema)
                assert "minimum" in schema and schema["minimum"] >= -INT64_MAX - 1, (where, schema)
                checked += 1
    assert checked > 50


def _validate(spec: dict, schema: dict, instance) -> None:
    """``instance`` against an OpenAPI 3.0 schema of ``spec`` (its $refs resolved in the document)."""
    from openapi_schema_validator import OAS30Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT4

    registry = Registry().with_resource("urn:spec", Resource(contents=spec, specification=DRAFT4))
    ref = schema["$ref"].replace("#/", "urn:spec#/")
    OAS30Validator({"$ref": ref}, registry=registry).validate(instance)


@pytest.mark.parametrize("prefix, login", [("/wx/v1", "wechat"), ("/alipay/v1", "alipay"), ("/app/v1", "app")])
async def test_who_am_i_answers_its_documented_schema(client, spec, mock_url, prefix, login):
    """Mini-programs were documented the app's Person (with `channels`) but answered the compact one."""
    from tests.support import citizens

    session = await getattr(citizens, f"login_{login}")(client, mock_url)
    answer = await client.get(f"{prefix}/me", headers=citizens.bearer(session))
    assert answer.status_code == 200, answer.text
    documented = spec["paths"][f"{prefix}/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    _validate(spec, documented, answer.json())
    assert ("channels" in answer.json()) == (prefix == "/app/v1")


async def test_answers_in_other_media_types_are_documented(spec):
    shown = spec["paths"]["/wx/v1/licenses/{license_id}/presentations"]["post"]["responses"]["201"]["content"]
    assert set(shown) == {"application/json", "image/png", "image/svg+xml"}
    fetched = spec["paths"]["/gov/v1/applications/{number}/materials/{material_id}"]["get"]["responses"]["200"]
    assert {"application/pdf", "image/jpeg", "image/png"} <= set(fetched["content"])
