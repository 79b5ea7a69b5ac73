"""The home page per channel: topics for the channel and region, hot list, my open items."""
from __future__ import annotations

import json

import pytest

from bff.common import home_routes, jsonio
from domain.audit.service import SystemActor
from tests.support.catalog_data import sample_records
from tests.support.citizens import bearer, login_app, login_wechat

ACTOR = SystemActor("test")
XIHU = "330106000000"


@pytest.fixture
async def published(resources):
    await resources.catalog.upsert(sample_records())
    topics = resources.topics
    entries = [{"kind": "matter", "ref": f"T-{i:04d}"} for i in range(6)]
    await topics.create(actor=ACTOR, code="zj-housing", title="浙江住房服务", entries=entries,
                        channels=["wechat", "app"], regions=["330000000000"], weight=5)
    await topics.publish(actor=ACTOR, code="zj-housing")
    await topics.create(actor=ACTOR, code="bj-only", title="北京专栏", entries=entries[:1],
                        channels=["wechat", "alipay", "app"], regions=["110000000000"])
    await topics.publish(actor=ACTOR, code="bj-only")
    return topics


async def test_home_without_login(client, published):
    response = await client.get("/wx/v1/home", params={"region": XIHU})
    assert response.status_code == 200
    body = response.json()
    assert [t["code"] for t in body["topics"]] == ["zj-housing"]  # not Beijing's topic
    assert len(body["topics"][0]["entries"]) == 4 and body["topics"][0]["more"] is True  # compact
    assert body["open_items"] is None and len(body["hot"]) <= 6
    assert body["topics"][0]["entries"][0]["title"] == "住房公积金提取（购房）"  # the matter's own name
    assert set(body["hot"][0]) == {"code", "name"}


async def test_home_for_a_logged_in_citizen_counts_open_items(client, mock_url, published):
    session = await login_wechat(client, mock_url)
    body = (await client.get("/wx/v1/home", params={"region": XIHU}, headers=bearer(session))).json()
    assert body["open_items"] == 0


async def test_channel_targeting(client, published):
    alipay = (await client.get("/alipay/v1/home", params={"region": XIHU})).json()
    assert alipay["topics"] == []  # zj-housing is not on Alipay
    bj = (await client.get("/alipay/v1/home", params={"region": "110101000000"})).json()
    assert [t["code"] for t in bj["topics"]] == ["bj-only"]


async def test_app_home_is_richer_with_an_etag(client, published):
    response = await client.get("/app/v1/home", params={"region": XIHU})
    body = response.json()
    assert len(body["topics"][0]["entries"]) == 6 and "subtitle" in body["topics"][0]
    again = await client.get("/app/v1/home", params={"region": XIHU},
                             headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


async def test_a_logged_in_app_home_is_the_regions_page_with_the_citizens_count(client, mock_url, published):
    anonymous = await client.get("/app/v1/home", params={"region": XIHU})
    session = await login_app(client, mock_url)
    headers = {**bearer(session), "X-Device-Id": "device-1"}
    mine = await client.get("/app/v1/home", params={"region": XIHU}, headers=headers)
    assert mine.status_code == 200 and mine.headers["Cache-Control"].startswith("private")
    assert mine.json() == {**anonymous.json(), "open_items": 0}
    assert mine.headers["ETag"] != anonymous.headers["ETag"]  # its own page, its own tag
    again = await client.get("/app/v1/home", params={"region": XIHU},
                             headers={**headers, "If-None-Match": mine.headers["ETag"]})
    assert again.status_code == 304


def test_the_count_goes_in_place_of_the_pages_null_and_nowhere_else():
    # a title may carry the member's text; JSON escapes its quotes, so only the member matches
    title = jsonio.dumps({"title": '"open_items":null'})
    page = ('{"topics":[' + title + '],"open_items":null}').encode()
    assert json.loads(home_routes._with_open_items(page, 3)) == {"topics": [{"title": '"open_items":null'}],
                                                                  "open_items": 3}
    with pytest.raises(ValueError):
        home_routes._with_open_items(b'{"topics":[]}', 3)


async def test_topic_switched_off_leaves_home(client, published):
    await published.take_offline(actor=ACTOR, code="zj-housing")
    body = (await client.get("/wx/v1/home", params={"region": XIHU})).json()
    assert body["topics"] == []


async def test_home_bad_region(client, published):
    response = await client.get("/wx/v1/home", params={"region": "33"})
    assert response.status_code == 400 and response.json()["errors"][0]["field"] == "region"


async def test_nationwide_home(client, published):
    body = (await client.get("/wx/v1/home")).json()
    assert body["region"] == "000000000000" and body["topics"] == []
    assert all(h["code"] for h in body["hot"])


async def test_entries_naming_a_national_catalog_item_show_its_name(client, resources, published):
    names = await resources.catalog.names_of(["NAT-T001", "T-0002", "NOPE"])
    assert names == {"NAT-T001": "住房公积金提取（租房）", "T-0002": "住房公积金个人账户转移"}


async def test_a_page_is_rendered_once_however_many_ask_at_once(client, resources, published, monkeypatch):
    """Under load a kept page expires while dozens of requests wait for it: one of them renders."""
    import asyncio

    home, renders = resources.home, []
    original = home.home

    async def counted(**kwargs):
        renders.append(kwargs["region_code"])
        await asyncio.sleep(0.05)  # a render that takes a while, so the requests overlap
        return await original(**kwargs)

    monkeypatch.setattr(home, "home", counted)
    region = "330108000000"  # 滨江区: no page kept for it yet
    responses = await asyncio.gather(*(client.get("/wx/v1/home", params={"region": region}) for _ in range(30)))
    assert {r.status_code for r in responses} == {200} and len({r.content for r in responses}) == 1
    assert renders == [region]
