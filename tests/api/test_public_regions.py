"""/public/v1 regions, zones and departments over HTTP: no login, problem+json on bad codes."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
async def _seeded(resources):  # the database is emptied before each test that uses ``resources``
    await resources.regions.seed_regions()


async def test_region_with_its_path_needs_no_login(client):
    response = await client.get("/public/v1/regions/110101001001")
    assert response.status_code == 200
    body = response.json()
    assert (body["code"], body["name"], body["level"], body["level_name"]) == (
        "110101001001", "多福巷社区居委会", 5, "village")
    assert [r["name"] for r in body["path"]] == ["北京市", "市辖区", "东城区", "东华门街道", "多福巷社区居委会"]
    assert "max-age" in response.headers["cache-control"]


async def test_short_codes_are_read_as_their_12_digit_form(client):
    body = (await client.get("/public/v1/regions/3301")).json()
    assert (body["code"], body["parent_code"]) == ("330100000000", "330000000000")


async def test_children(client):
    items = (await client.get("/public/v1/regions/110100000000/children")).json()["items"]
    assert len(items) == 16 and items[0]["name"] == "东城区" and {i["level"] for i in items} == {3}
    assert (await client.get("/public/v1/regions/330102016001/children")).json() == {"items": []}


async def test_provinces_and_search(client):
    provinces = (await client.get("/public/v1/regions")).json()["items"]
    assert [p["code"][:2] for p in provinces] == ["11", "12", "13", "31", "32", "33", "34"]
    found = (await client.get("/public/v1/regions", params={"q": "西湖", "level": 3})).json()["items"]
    assert [r["code"] for r in found] == ["330106000000"]
    bad = await client.get("/public/v1/regions", params={"level": 9})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_input"


@pytest.mark.parametrize(("path", "status", "code"), [
    ("/public/v1/regions/33010x", 400, "invalid_region_code"),
    ("/public/v1/regions/990000000000", 400, "invalid_region_code"),
    ("/public/v1/regions/330199000000", 404, "region_not_found"),
    ("/public/v1/regions/330199000000/children", 404, "region_not_found"),
    ("/public/v1/regions/44/departments", 404, "region_not_found"),
])
async def test_bad_and_unknown_codes_are_problems(client, path, status, code):
    response = await client.get(path)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == code and response.json()["title"]


async def test_zones(client):
    items = {z["code"]: z for z in (await client.get("/public/v1/zones")).json()["items"]}
    assert items["yrd"]["name"] == "长三角" and items["jjj"]["name"] == "京津冀"
    assert items["jjj"]["regions"] == ["110000000000", "120000000000", "130000000000"]


async def test_departments_of_a_region_and_above_it(client):
    own = (await client.get("/public/v1/regions/330100000000/departments")).json()["items"]
    assert "杭州市市场监督管理局" in [d["name"] for d in own]
    assert {d["region_code"] for d in own} == {"330100000000"}
    above = (await client.get("/public/v1/regions/330106/departments",
                              params={"with_ancestors": "true"})).json()["items"]
    assert {d["region_code"] for d in above} == {"330000000000", "330100000000", "330106000000"}


async def test_routes_are_in_the_openapi_document_without_security(client):
    spec = (await client.get("/openapi.json")).json()
    for path in ("/public/v1/regions/{code}", "/public/v1/regions/{code}/children", "/public/v1/zones",
                 "/public/v1/regions/{code}/departments", "/public/v1/regions"):
        operation = spec["paths"][path]["get"]
        assert not operation.get("security"), path
        assert "200" in operation["responses"], path
