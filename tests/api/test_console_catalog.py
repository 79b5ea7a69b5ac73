"""The catalog in the console: finding matters with the citizens' search, a search word added by a
catalog admin changing that search at once (社保 finds 社会保险 matters), a matter as each channel
shows it, its channels switched and audited as /admin/v1 audits a matter's save; roles and CSRF."""
from __future__ import annotations

import html
import json
import re

from domain.audit.service import AuditFilters, AuditLog
from domain.catalog.service import SearchFilters
from tests.api.test_console_pages import Browser, admins  # noqa: F401  (the fixture)
from tests.support.catalog_data import record

NAMES = ["社会保险登记", "社会保险费缓缴申请", "住房公积金提取", "居民身份证换领"]


async def test_a_search_word_changes_search_at_once(client, admins, resources):
    await resources.catalog.upsert([record(9100 + i, name, "000000000000") for i, name in enumerate(NAMES)])
    catalog = Browser(client)
    await catalog.login("catalog")
    before = await catalog.get("/console/matters", params={"q": "社保"})
    assert before.status_code == 200 and "没有找到事项" in before.text
    token = await catalog.csrf("/console/search-words")
    empty = await catalog.post("/console/search-words", {"csrf_token": token, "term": "", "expansions": "社会保险"})
    assert empty.status_code == 400 and 'role="alert"' in empty.text
    added = await catalog.post("/console/search-words", {"csrf_token": token, "term": "社保",
                                                         "expansions": "社会保险", "two_way": "1"})
    assert added.status_code == 303
    after = await catalog.get("/console/matters", params={"q": "社保"})
    assert "社会保险登记" in after.text and "社会保险费缓缴申请" in after.text and "同时搜索：社会保险" in after.text
    citizens = (await client.get("/wx/v1/matters", params={"q": "社保"})).json()
    assert any("社会保险" in m["name"] for m in citizens["items"])  # the citizens' search, the same words
    listed = await catalog.get("/console/search-words")
    word_id = listed.text.split('/console/search-words/')[1].split('/')[0]
    removed = await catalog.post(f"/console/search-words/{word_id}/delete", {"csrf_token": token, "version": "1"})
    assert removed.status_code == 303
    assert "没有找到事项" in (await catalog.get("/console/matters", params={"q": "社保"})).text
    trail = (await AuditLog.list(AuditFilters(target_type="search_word", target_id=word_id))).entries
    assert [(e.action, e.actor_username) for e in trail] == [("search_word.delete", "catalog"),
                                                             ("search_word.create", "catalog")]  # as /admin/v1 writes


async def test_a_matter_per_channel_and_its_channels_switched(client, admins, resources):
    await resources.catalog.upsert([record(9200, "住房公积金提取", "330106000000")])
    code = (await resources.catalog.search(q="住房公积金", filters=SearchFilters())).items[0].code
    catalog, ops = Browser(client), Browser(client)
    await catalog.login("catalog")
    await ops.login("ops")
    shown = await catalog.get(f"/console/matters/{code}")
    assert shown.status_code == 200 and "微信小程序看到的内容" in shown.text and "App看到的内容" in shown.text
    assert "保存" not in (await ops.get(f"/console/matters/{code}")).text  # operators read only
    token = await catalog.csrf("/console/matters")
    refused = await ops.post(f"/console/matters/{code}/channels", {"csrf_token": await ops.csrf(), "channels": "app"})
    assert refused.status_code == 403
    switched = await catalog.post(f"/console/matters/{code}/channels", {"csrf_token": token, "channels": ["app", "pc"]})
    assert switched.status_code == 303
    assert (await resources.catalog.any_matter(code=code)).channels == ["app", "pc"]
    listed = {channel: [m["code"] for m in (await client.get(f"/{channel}/v1/matters", params={"q": "住房公积金"})).json()["items"]]
              for channel in ("wx", "app")}
    assert code not in listed["wx"] and code in listed["app"]  # WeChat no longer lists it
    trail = (await AuditLog.list(AuditFilters(target_type="matter", target_id=code))).entries
    assert [(e.action, e.actor_username) for e in trail][:1] == [("matter.update", "catalog")]
    forged = await catalog.post(f"/console/matters/{code}/channels", {"channels": "wechat"})
    assert forged.status_code == 403 and (await resources.catalog.any_matter(code=code)).channels == ["app", "pc"]


async def test_a_junk_version_on_removing_a_search_word_is_a_form_error_not_a_500(client, admins, resources):
    catalog = Browser(client)
    await catalog.login("catalog")
    token = await catalog.csrf("/console/search-words")
    added = await catalog.post("/console/search-words", {"csrf_token": token, "term": "社保", "expansions": "社会保险"})
    assert added.status_code == 303
    word_id = (await catalog.get("/console/search-words")).text.split('/console/search-words/')[1].split('/')[0]
    for junk in ("abc", "1.5", "-1", "١", "9" * 40):
        refused = await catalog.post(f"/console/search-words/{word_id}/delete", {"csrf_token": token, "version": junk})
        assert refused.status_code == 400 and "版本号应为整数" in refused.text, junk
    assert [w.term for w in await resources.catalog.words.list()] == ["社保"]  # nothing removed


async def test_a_matter_is_shown_with_the_very_body_each_channel_serves(client, admins, resources):
    await resources.catalog.upsert([record(9300, "住房公积金提取", "330106000000")])
    code = (await resources.catalog.search(q="住房公积金", filters=SearchFilters())).items[0].code
    catalog = Browser(client)
    await catalog.login("catalog")
    page = (await catalog.get(f"/console/matters/{code}")).text
    shown = {name: json.loads(html.unescape(body))
             for name, body in re.findall(r"<h2>([^<]+)看到的内容</h2><pre>(.*?)</pre>", page, re.S)}
    for name, prefix in (("微信小程序", "/wx/v1"), ("支付宝小程序", "/alipay/v1"), ("App", "/app/v1")):
        served = await client.get(f"{prefix}/matters/{code}")
        assert served.status_code == 200 and shown[name] == served.json(), name
    assert shown["微信小程序"] != shown["App"]  # compact for the mini-programs, full for the app
