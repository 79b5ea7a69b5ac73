"""Search words over HTTP (/admin/v1/search-words): catalog admins keep the dictionary, the change is
in citizens' search at once (the app serving, its feed followed), every change audited; readers
read and try queries; bad input is a problem with a stable code and changes nothing."""
from __future__ import annotations

import pytest

from domain.audit.models import AuditEntry
from tests.support.admins import admin_headers, cheap_admin_services, make_admin
from tests.support.catalog_data import record

NAMES = ["社会保险登记", "社保关系转移接续", "户籍证明"]
SHEBAO = {"term": "社保", "expansions": ["社会保险", "社会保障"], "note": "通称"}


@pytest.fixture
async def headers(app, client, resources):
    await resources.catalog.upsert([record(9101 + i, name, "000000000000") for i, name in enumerate(NAMES)])
    with cheap_admin_services(app) as accounts:
        for role in ("catalog_admin", "topic_editor", "operator"):
            await make_admin(accounts, role.replace("_", "."), role)
        yield {role: await admin_headers(client, role.replace("_", ".")) for role in
               ("catalog.admin", "topic.editor", "operator")}


async def _search(client, q: str) -> list[str]:
    response = await client.get("/wx/v1/matters", params={"q": q})
    assert response.status_code == 200, response.text
    return [m["name"] for m in response.json()["items"]]


async def test_add_change_remove_each_in_search_at_once_and_audited(client, headers):
    cat = headers["catalog.admin"]
    assert await _search(client, "社保") == ["社保关系转移接续"]
    added = await client.post("/admin/v1/search-words", json=SHEBAO, headers=cat)
    assert added.status_code == 201, added.text
    word = added.json()
    assert (word["term"], word["expansions"], word["two_way"], word["version"]) == ("社保", ["社会保险", "社会保障"], True, 1)
    assert added.headers["ETag"] == '"1"' and word["created_by"] == "catalog.admin"
    assert await _search(client, "社保") == ["社保关系转移接续", "社会保险登记"]

    path = f"/admin/v1/search-words/{word['id']}"
    changed = await client.put(path, json={"term": "社保", "expansions": ["社会保障"]},
                               headers={**cat, "If-Match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and changed.headers["ETag"] == '"2"'
    assert await _search(client, "社保") == ["社保关系转移接续"]

    stale = await client.delete(path, headers={**cat, "If-Match": '"1"'})
    assert stale.status_code == 409 and stale.json()["code"] == "search_word_version_conflict"
    removed = await client.delete(path, headers={**cat, "If-Match": '"2"'})
    assert removed.status_code == 204
    listed = await client.get("/admin/v1/search-words", headers=cat)
    assert listed.json() == {"items": []}
    actions = [e.action for e in await AuditEntry.filter(target_type="search_word", target_id=str(word["id"]))
               .order_by("id")]
    assert actions == ["search_word.create", "search_word.update", "search_word.delete"]


async def test_readers_read_and_try_and_cannot_write(client, headers):
    await client.post("/admin/v1/search-words", json=SHEBAO, headers=headers["catalog.admin"])
    for reader in ("topic.editor", "operator"):
        listed = await client.get("/admin/v1/search-words", headers=headers[reader])
        assert [w["term"] for w in listed.json()["items"]] == ["社保"]
        tried = await client.get("/admin/v1/search-words/expansion", params={"q": "查 社保 缴费"},
                                 headers=headers[reader])
        assert tried.json() == {"q": "查 社保 缴费", "searched": ["查社保缴费", "查社会保险缴费", "查社会保障缴费"]}
        refused = await client.post("/admin/v1/search-words", json={**SHEBAO, "term": "医保"}, headers=headers[reader])
        assert refused.status_code == 403 and refused.json()["code"] == "role_required"
    assert (await client.get("/admin/v1/search-words")).status_code == 401


@pytest.mark.parametrize(("body", "code", "field"), [
    ({**SHEBAO, "term": "社"}, "invalid_search_word", "term"),
    ({**SHEBAO, "term": "社，保"}, "invalid_search_word", "term"),
    ({**SHEBAO, "expansions": ["社保"]}, "invalid_search_word", "expansions.0"),
    ({**SHEBAO, "expansions": ["社会保险", "社会保险"]}, "invalid_search_word", "expansions.1"),
    ({"term": "公积金", "expansions": ["住房公积金"], "two_way": False}, "invalid_search_word", "expansions.0"),
    ({**SHEBAO, "expansions": []}, "invalid_input", "expansions"),
    ({**SHEBAO, "term": "社" * 17}, "invalid_input", "term"),
    ({**SHEBAO, "two_way": "yes"}, "invalid_input", "two_way"),
    ({**SHEBAO, "colour": "red"}, "invalid_input", "colour"),
])
async def test_bad_input_is_a_problem_and_changes_nothing(client, headers, body, code, field):
    cat = headers["catalog.admin"]
    existing = (await client.post("/admin/v1/search-words", json={"term": "户口", "expansions": ["户籍"]},
                                  headers=cat)).json()
    for method, path, extra in (("POST", "/admin/v1/search-words", {}),
                                ("PUT", f"/admin/v1/search-words/{existing['id']}", {"If-Match": '"1"'})):
        response = await client.request(method, path, json=body, headers={**cat, **extra})
        assert response.status_code == 400, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == code and field in [e["field"] for e in response.json()["errors"]]
    listed = (await client.get("/admin/v1/search-words", headers=cat)).json()["items"]
    assert listed == [existing]
    assert await AuditEntry.filter(target_type="search_word").count() == 1


async def test_conflicts_and_missing_versions(client, headers):
    cat = headers["catalog.admin"]
    first = (await client.post("/admin/v1/search-words", json=SHEBAO, headers=cat)).json()
    again = await client.post("/admin/v1/search-words", json={**SHEBAO, "term": " 社保 "}, headers=cat)
    assert again.status_code == 409 and again.json()["code"] == "search_word_exists"
    path = f"/admin/v1/search-words/{first['id']}"
    unversioned = await client.put(path, json=SHEBAO, headers=cat)
    assert unversioned.status_code == 400 and unversioned.json()["code"] == "search_word_version_required"
    assert (await client.delete(path, headers=cat)).json()["code"] == "search_word_version_required"
    in_body = await client.put(path, json={**SHEBAO, "note": "", "version": 1}, headers=cat)
    assert in_body.status_code == 200 and in_body.json()["note"] == ""
    missing = await client.delete("/admin/v1/search-words/999999", headers={**cat, "If-Match": '"1"'})
    assert missing.status_code == 404 and missing.json()["code"] == "search_word_not_found"
    assert (await client.delete("/admin/v1/search-words/社保", headers=cat)).status_code == 404  # ids only


async def test_documented(client):
    spec = (await client.get("/openapi.json")).json()
    for path, methods in {"/admin/v1/search-words": {"get", "post"}, "/admin/v1/search-words/expansion": {"get"},
                          "/admin/v1/search-words/{word_id}": {"put", "delete"}}.items():
        assert set(spec["paths"][path]) >= methods, path
    delete = spec["paths"]["/admin/v1/search-words/{word_id}"]["delete"]
    assert "search_word_version_required" in str(delete["responses"]["400"])
