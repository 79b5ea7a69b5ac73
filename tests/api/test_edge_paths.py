"""Every path parameter is declared with its shape (bff/common/paths.py): an id too long for its
column, percent-encoded text or an integer no BIGINT holds is a 404 problem from the router — on
every route, logged in or not — and never reaches the database; the OpenAPI says each shape."""
from __future__ import annotations

import pytest

from bff.common.paths import SERVICE_PATH, SHAPES, shape_of

MALFORMED = {
    "too long": lambda shape: "9" * (shape.max_length + 1) if shape.integer else "a" * (shape.max_length + 1),
    "percent-encoded text": lambda shape: "%E4%B8%AD" * 12,
    "one percent-encoded character": lambda shape: "%E4%B8%AD",
    "a slash inside": lambda shape: "a%2Fb",
    "a negative number": lambda shape: "-1",
    "2**64": lambda shape: str(2**64) if shape.integer else None,  # (digits are a fine text id)
}


def _routes_with_parameters(app):
    return [route for route in app.router.routes if route.defined_params]


def test_every_path_parameter_has_a_declared_shape(app):
    routes = _routes_with_parameters(app)
    assert len(routes) > 40
    for route in routes:
        for param in route.defined_params.values():
            assert shape_of(param.label), f"/{route.path}: <{param.name}:{param.label}> has no shape"


def _path(route, name: str, value: str) -> str:
    """The route's path with ``value`` in parameter ``name`` and each other's example."""
    shapes = {p.name: shape_of(p.label) for p in route.defined_params.values()}
    segments = []
    for segment in route.path.split("/"):
        if segment.startswith("<"):
            param = segment[1:-1].split(":")[0]
            segment = value if param == name else shapes[param].example
        segments.append(segment)
    return "/" + "/".join(segments)


@pytest.mark.parametrize("kind", sorted(MALFORMED))
async def test_a_malformed_id_is_a_404_on_every_route(client, app, kind):
    checked = 0
    for route in _routes_with_parameters(app):
        for param in route.defined_params.values():
            if param.label == SERVICE_PATH.label:  # an exchange call's own path: its grant bounds it (403)
                continue
            value = MALFORMED[kind](SHAPES[param.label])
            if value is None:
                continue
            path = _path(route, param.name, value)
            for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
                response = await client.request(method, path, json={} if method != "GET" else None,
                                                headers={"Authorization": "Bearer not-a-token"})
                assert response.status_code == 404, (method, path, response.text[:300])
                assert response.headers["content-type"].startswith("application/problem+json")
                assert response.json()["code"] == "route_not_found"
                checked += 1
    assert checked >= 3


async def test_a_well_formed_unknown_id_is_still_the_domains_404(client):
    response = await client.get("/wx/v1/matters/" + "A" * 64)
    assert response.status_code == 404 and response.json()["code"] == "matter_not_found"
    response = await client.get("/public/v1/regions/33010x")  # the region rule still speaks for itself
    assert response.status_code == 400 and response.json()["code"] == "invalid_region_code"


async def test_the_openapi_gives_every_path_parameter_its_pattern_and_length(client):
    spec = (await client.get("/openapi.json")).json()
    checked = 0
    for path, item in spec["paths"].items():
        for method, op in item.items():
            declared = {p["name"]: p for p in op.get("parameters", []) if p["in"] == "path"}
            assert set(declared) == {seg[1:-1] for seg in path.split("/") if seg.startswith("{")}, (method, path)
            for param in declared.values():
                schema = param["schema"]
                if schema["type"] == "integer":
                    assert schema["maximum"] < 2**63 and schema["minimum"] >= 0, (method, path)
                elif param["name"] == "rest":  # an exchange call's own path (bff/common/paths.py SERVICE_PATH)
                    assert schema["pattern"] == SERVICE_PATH.pattern, (method, path)
                else:
                    assert schema["pattern"].startswith("^") and schema["maxLength"] <= 64, (method, path)
                checked += 1
    assert checked > 60
