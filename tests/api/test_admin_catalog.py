"""Catalog administration: catalog admins change matters (audited); topic editors cannot."""
from __future__ import annotations

import pytest

from domain.audit.models import AuditEntry
from tests.support.admins import admin_headers, cheap_admin_services, make_admin

MATTER = {
    "catalog_code": "NAT-9001", "name": "测试事项（个人）", "kind": "public_service", "region_code": "330106000000",
    "department_code": "330106-civil_affairs", "materials": [{"name": "居民身份证", "license_type": "resident_id_card"}],
    "promised_limit_days": 3, "legal_limit_days": 10, "channels": ["wechat", "app"],
    "form_schema": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}},
}


@pytest.fixture
async def headers(app, client, resources):
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "cat", "catalog_admin")
        await make_admin(accounts, "editor", "topic_editor")
        yield {"cat": await admin_headers(client, "cat"), "editor": await admin_headers(client, "editor")}


async def test_catalog_admin_creates_and_changes_a_matter(client, headers):
    created = await client.put("/admin/v1/matters/TEST-1", json=MATTER, headers=headers["cat"])
    assert created.status_code == 200, created.text
    assert created.json()["status"] == "active"
    found = (await client.get("/wx/v1/matters", params={"q": "测试事项"})).json()["items"]
    assert [m["code"] for m in found] == ["TEST-1"]
    changed = await client.put("/admin/v1/matters/TEST-1", json={**MATTER, "fee_fen": 500}, headers=headers["cat"])
    assert changed.json()["fee_fen"] == 500
    again = await client.put("/admin/v1/matters/TEST-1", json={**MATTER, "fee_fen": 500}, headers=headers["cat"])
    assert again.status_code == 200
    entries = await AuditEntry.filter(target_type="matter", target_id="TEST-1").order_by("id")
    assert [e.action for e in entries] == ["matter.create", "matter.update"]  # the no-op wrote nothing
    assert entries[1].actor_username == "cat"


async def test_retire_removes_from_search_and_is_audited(client, headers):
    await client.put("/admin/v1/matters/TEST-2", json=MATTER, headers=headers["cat"])
    retired = await client.delete("/admin/v1/matters/TEST-2", headers=headers["cat"])
    assert retired.json()["status"] == "retired"
    assert (await client.get("/wx/v1/matters/TEST-2")).status_code == 404
    assert (await client.get("/admin/v1/matters/TEST-2", headers=headers["cat"])).json()["status"] == "retired"
    assert await AuditEntry.filter(target_id="TEST-2", action="matter.retire").exists()


async def test_a_topic_editor_cannot_change_the_catalog(client, headers):
    response = await client.put("/admin/v1/matters/TEST-3", json=MATTER, headers=headers["editor"])
    assert response.status_code == 403 and response.json()["code"] == "role_required"
    assert (await client.delete("/admin/v1/matters/TEST-3", headers=headers["editor"])).status_code == 403
    assert (await client.get("/admin/v1/matters/TEST-3", headers=headers["cat"])).status_code == 404


async def test_invalid_matter_names_every_problem_and_stores_nothing(client, headers):
    bad = {**MATTER, "kind": "magic", "promised_limit_days": 30, "form_schema": {"type": "nonsense"}}
    response = await client.put("/admin/v1/matters/TEST-4", json=bad, headers=headers["cat"])
    assert response.status_code == 400 and response.json()["code"] == "invalid_matter"
    fields = {e["field"] for e in response.json()["errors"]}
    assert {"kind", "promised_limit_days", "form_schema"} <= fields
    assert not await AuditEntry.filter(target_id="TEST-4").exists()


async def test_without_a_session_it_is_401(client, resources):
    assert (await client.put("/admin/v1/matters/X", json=MATTER)).status_code == 401
