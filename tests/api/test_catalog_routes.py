"""Matter search and detail on each channel: no login needed, channel-shaped bodies, bad input."""
from __future__ import annotations

import pytest

from tests.support.catalog_data import sample_records


@pytest.fixture
async def catalog(resources):
    await resources.catalog.upsert(sample_records())
    return resources.catalog


async def test_search_without_login_is_compact_on_mini_programs(client, catalog):
    response = await client.get("/wx/v1/matters", params={"q": "公积金", "region": "330106000000"})
    assert response.status_code == 200
    items = response.json()["items"]
    assert items and set(items[0]) == {"code", "name", "online_depth", "cross_province"}
    assert all("公积金" in i["name"] for i in items)


async def test_search_on_the_app_is_richer(client, catalog):
    items = (await client.get("/app/v1/matters", params={"q": "gjj"})).json()["items"]
    assert items and {"kind_name", "fee_fen", "promised_limit_days", "channels"} <= set(items[0])


async def _all_codes(client, path: str, q: str) -> set[str]:
    codes, cursor = set(), None
    while True:
        params = {"q": q, "limit": 50, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=params)).json()
        codes |= {i["code"] for i in page["items"]}
        if not (cursor := page["next_cursor"]):
            return codes


async def test_a_channel_sees_only_matters_offered_on_it(client, catalog):
    wx = await _all_codes(client, "/wx/v1/matters", "登记")
    app = await _all_codes(client, "/app/v1/matters", "登记")
    only_app = {r["code"] for r in sample_records() if "wechat" not in r["channels"] and "登记" in r["name"]}
    assert only_app and only_app <= app and not (only_app & wx)


async def test_a_channel_answers_only_the_details_of_matters_offered_on_it(client, catalog):
    only_app = next(r["code"] for r in sample_records() if "wechat" not in r["channels"] and "app" in r["channels"])
    refused = await client.get(f"/wx/v1/matters/{only_app}")
    assert refused.status_code == 404 and refused.json()["code"] == "matter_not_found"
    assert (await client.get(f"/app/v1/matters/{only_app}")).status_code == 200


async def test_paging_through_the_route(client, catalog):
    first = (await client.get("/alipay/v1/matters", params={"q": "登记", "limit": 5})).json()
    second = (await client.get("/alipay/v1/matters", params={"q": "登记", "limit": 5,
                                                             "cursor": first["next_cursor"]})).json()
    assert first["next_cursor"] and not {i["code"] for i in first["items"]} & {i["code"] for i in second["items"]}


@pytest.mark.parametrize("params,field", [
    ({"region": "3301"}, "region"), ({"limit": "500"}, "limit"), ({"audience": "aliens"}, "audience"),
    ({"bogus": "1"}, "bogus"), ({"q": "x" * 51}, "q"),
])
async def test_bad_query_parameters(client, catalog, params, field):
    response = await client.get("/wx/v1/matters", params=params)
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == field


async def test_bad_cursor_and_empty_query(client, catalog):
    assert (await client.get("/wx/v1/matters", params={"q": "登记", "cursor": "@@"})).json()["code"] == "invalid_cursor"
    assert (await client.get("/wx/v1/matters", params={"q": "（）"})).json()["code"] == "invalid_search"


async def test_detail_counts_a_view(client, catalog, resources):
    response = await client.get("/wx/v1/matters/T-0009")
    assert response.status_code == 200
    body = response.json()
    assert body["materials"][0]["license_type"] == "resident_id_card" and "form_schema" in body
    full = (await client.get("/app/v1/matters/T-0009")).json()
    assert full["online_depth_name"] and "notes" in full["materials"][0]
    await catalog.flush_popularity()
    from domain.catalog.models import Matter
    assert (await Matter.get(code="T-0009")).views == 2


async def test_unknown_matter_is_404(client, catalog):
    response = await client.get("/wx/v1/matters/NOPE")
    assert response.status_code == 404 and response.json()["code"] == "matter_not_found"
