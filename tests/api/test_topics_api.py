"""Topics over HTTP: editing with ETags, the life cycle, preview, and the public read with its cache."""
from __future__ import annotations

import pytest

from tests.support.admins import admin_headers, cheap_admin_services, make_admin

XIHU = "330106000000"
TOPIC = {"code": "xiaowei", "title": "小微企业和个体工商户服务专栏", "subtitle": "政策与办事一站通",
         "banner_url": "https://img.gov.cn/topics/xiaowei.png", "channels": ["wechat", "app"],
         "regions": ["330000000000"], "weight": 5,
         "entries": [{"kind": "matter", "ref": "NAT-0001", "title": "个体工商户登记"},
                     {"kind": "link", "ref": "https://www.gov.cn/zhengce/", "title": "惠企政策"}]}


@pytest.fixture
async def editor(app, client, resources):
    # The hub's topic cache outlives the tables emptied between tests: start from nothing.
    app.ctx.topics.invalidate()
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "editor", "topic_editor")
        await make_admin(accounts, "ops", "operator")
        yield await admin_headers(client, "editor")


async def _public(client, channel="wechat", region=XIHU):
    response = await client.get("/public/v1/topics", params={"channel": channel, "region": region})
    assert response.status_code == 200, response.text
    return [t["code"] for t in response.json()["items"]], response.headers["X-Cache"]


async def test_edit_with_etags_and_optimistic_locking(client, editor):
    created = await client.post("/admin/v1/topics", json=TOPIC, headers=editor)
    assert created.status_code == 201 and created.headers["ETag"] == '"1"'
    assert created.json()["status"] == "draft" and len(created.json()["entries"][0]["id"]) == 9
    unversioned = await client.patch("/admin/v1/topics/xiaowei", json={"title": "新标题"}, headers=editor)
    assert unversioned.status_code == 400 and unversioned.json()["code"] == "topic_version_required"
    saved = await client.patch("/admin/v1/topics/xiaowei", json={"title": "新标题", "subtitle": None},
                               headers={**editor, "If-Match": '"1"'})
    assert saved.status_code == 200 and saved.headers["ETag"] == '"2"' and saved.json()["subtitle"] is None
    stale = await client.patch("/admin/v1/topics/xiaowei", json={"title": "晚了一步"}, headers={**editor, "If-Match": '"1"'})
    assert stale.status_code == 409 and stale.json() | {"current_version": 2} == stale.json()
    assert stale.json()["code"] == "topic_version_conflict"
    both = await client.patch("/admin/v1/topics/xiaowei", json={"weight": 1, "version": 3}, headers={**editor, "If-Match": '"2"'})
    assert both.status_code == 400
    ids = [e["id"] for e in saved.json()["entries"]]
    reordered = await client.put("/admin/v1/topics/xiaowei/entry-order", json={"order": ids[::-1], "version": 2},
                                 headers=editor)
    assert [e["ref"] for e in reordered.json()["entries"]] == ["https://www.gov.cn/zhengce/", "NAT-0001"]
    duplicate = await client.post("/admin/v1/topics", json=TOPIC, headers=editor)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "topic_exists"


async def test_invalid_topics_name_their_fields(client, editor):
    bad = {**TOPIC, "channels": ["wechat", "douyin"], "regions": ["3301"],
           "entries": [{"kind": "link", "ref": "http://insecure.example.com"}]}
    response = await client.post("/admin/v1/topics", json=bad, headers=editor)
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert "channels.1" in fields or "channels" in fields
    ok = await client.post("/admin/v1/topics", json={**TOPIC, "regions": ["3301"]}, headers=editor)
    assert ok.status_code == 400 and ok.json()["errors"][0]["field"] == "regions.0"


async def test_switching_on_and_off_shows_on_the_public_route_at_once(client, editor):
    await client.post("/admin/v1/topics", json=TOPIC, headers=editor)
    assert await _public(client) == ([], "miss")
    assert await _public(client) == ([], "hit")
    published = await client.post("/admin/v1/topics/xiaowei/publish", headers=editor)
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert await _public(client) == (["xiaowei"], "miss")
    assert await _public(client) == (["xiaowei"], "hit")
    assert await _public(client, region="320102000000") == ([], "hit")  # region filtered after the cache
    assert await _public(client, channel="alipay") == ([], "hit")
    page = await client.get("/public/v1/topics/xiaowei", params={"channel": "app", "region": XIHU})
    assert page.json()["entries"][0] == {"kind": "matter", "ref": "NAT-0001", "title": "个体工商户登记", "icon": None}
    assert "status" not in page.json() and "regions" not in page.json()
    ops = await admin_headers(client, "ops")  # operators may switch topics off at night
    offline = await client.post("/admin/v1/topics/xiaowei/offline", json={"version": 2}, headers=ops)
    assert offline.status_code == 200
    assert await _public(client) == ([], "miss")
    gone = await client.get("/public/v1/topics/xiaowei", params={"channel": "wechat", "region": XIHU})
    assert gone.status_code == 404 and gone.json()["code"] == "topic_not_found"


async def test_publishing_needs_a_complete_topic_and_the_right_state(client, editor):
    await client.post("/admin/v1/topics", json={"code": "kong", "title": "空"}, headers=editor)
    incomplete = await client.post("/admin/v1/topics/kong/publish", headers=editor)
    assert incomplete.status_code == 400 and incomplete.json()["code"] == "topic_not_publishable"
    offline = await client.post("/admin/v1/topics/kong/offline", headers=editor)
    assert offline.status_code == 409 and offline.json()["code"] == "topic_transition_refused"
    stale = await client.post("/admin/v1/topics/kong/publish", json={"version": 7}, headers=editor)
    assert stale.status_code == 409
    assert (await client.delete("/admin/v1/topics/kong", headers=editor)).status_code == 204
    assert (await client.get("/admin/v1/topics/kong", headers=editor)).status_code == 404


async def test_preview_shows_what_an_audience_would_see_and_why_not(client, editor):
    await client.post("/admin/v1/topics", json={**TOPIC, "starts_at": "2030-01-01T00:00:00"}, headers=editor)
    preview = await client.get("/admin/v1/topics/xiaowei/preview", headers=editor,
                               params={"channel": "alipay", "region": "110101000000"})
    body = preview.json()
    assert preview.status_code == 200 and body["visible"] is False and body["status"] == "draft"
    assert [r["code"] for r in body["reasons"]] == ["not_published", "channel_not_targeted",
                                                    "region_not_targeted", "not_started"]
    assert body["topic"]["title"] == TOPIC["title"] and "regions" not in body["topic"]
    await client.post("/admin/v1/topics/xiaowei/publish", headers=editor)
    later = await client.get("/admin/v1/topics/xiaowei/preview", headers=editor,
                             params={"channel": "wechat", "region": XIHU, "at": "2030-01-01T00:00:00+08:00"})
    assert later.json()["visible"] is True and later.json()["reasons"] == []
    detail = await client.get("/admin/v1/topics/xiaowei", headers=editor)
    assert detail.json()["starts_at"] == "2030-01-01T00:00:00+08:00"  # read as Beijing time
    missing = await client.get("/admin/v1/topics/xiaowei/preview", headers=editor)
    assert missing.status_code == 400


async def test_list_filters(client, editor):
    await client.post("/admin/v1/topics", json=TOPIC, headers=editor)
    await client.post("/admin/v1/topics", json={**TOPIC, "code": "jiuye", "title": "就业服务", "regions": [],
                                                "weight": 9}, headers=editor)
    await client.post("/admin/v1/topics/jiuye/publish", headers=editor)

    async def codes(**params):
        response = await client.get("/admin/v1/topics", params=params, headers=editor)
        return [t["code"] for t in response.json()["items"]]

    assert await codes() == ["jiuye", "xiaowei"]
    assert await codes(status="draft") == ["xiaowei"]
    assert await codes(region="320102000000") == ["jiuye"]
    assert await codes(q="就业") == ["jiuye"]
    assert await codes(channel="pc") == []


async def test_the_public_route_checks_its_query(client, resources):
    assert (await client.get("/public/v1/topics")).status_code == 400
    assert (await client.get("/public/v1/topics", params={"channel": "wechat", "region": "33"})).status_code == 400
    assert (await client.get("/public/v1/topics", params={"channel": "wechat"})).status_code == 200
