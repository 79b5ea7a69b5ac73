"""The OpenAPI document is part of the product: every route documented with its shapes and errors."""
from __future__ import annotations

from openapi_spec_validator import validate

from bff.console import PAGES

BODYLESS_POSTS = {"/wx/v1/me/face-verifications", "/alipay/v1/me/face-verifications",
                  "/app/v1/me/face-verifications"}
UNDOCUMENTED = {"/openapi.json"}


async def _spec(client) -> dict:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


async def test_document_is_valid_openapi_3(client):
    spec = await _spec(client)
    assert spec["openapi"].startswith("3.")
    validate(spec)


async def test_every_route_is_documented(client, app):
    spec = await _spec(client)
    documented = {(path, method) for path, item in spec["paths"].items() for method in item}
    for route in app.router.routes:
        if route.path.startswith(PAGES) or "/" + route.path in UNDOCUMENTED:
            continue
        path = _openapi_path(route.path)
        for method in route.methods - {"HEAD", "OPTIONS"}:
            assert (path, method.lower()) in documented, f"{method} {path} is not in the OpenAPI document"


def _openapi_path(sanic_path: str) -> str:
    """``wx/v1/matters/<code:str>`` -> ``/wx/v1/matters/{code}``."""
    segments = ["{" + seg[1:-1].split(":")[0] + "}" if seg.startswith("<") else seg for seg in sanic_path.split("/")]
    return "/" + "/".join(segments)


async def test_operations_have_shapes_and_error_codes(client):
    spec = await _spec(client)
    for path, item in spec["paths"].items():
        if path in UNDOCUMENTED:
            continue
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            assert op.get("summary"), f"{where}: no summary"
            statuses = set(op.get("responses", {}))
            assert any(s.startswith("2") for s in statuses), f"{where}: no success response"
            if method in ("post", "put", "patch") and path not in BODYLESS_POSTS and not path.startswith("/gov/"):
                assert "requestBody" in op, f"{where}: no request body schema"
            if op.get("security"):
                assert "401" in statuses, f"{where}: secured but 401 is not documented"
            for status, answer in op["responses"].items():
                if status.startswith(("4", "5")):
                    assert "application/problem+json" in answer.get("content", {}), f"{where} {status}"
                    assert "`" in answer.get("description", ""), f"{where} {status}: no error codes named"
