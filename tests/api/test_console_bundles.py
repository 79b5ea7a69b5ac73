"""Bundles in the console: a draft saved as JSON, its validation result shown, a draft with
problems refused at publication with them listed, then published; roles: catalog admins write,
operators read and follow runs; the audit trail as the JSON routes write it."""
from __future__ import annotations

import json

import pytest

from domain.audit.models import AuditEntry
from tests.api.test_console_pages import Browser
from tests.support.admins import cheap_admin_services, make_admin
from domain.bundles.demo import definitions
from tests.support.bundles import setup_bundles

NOWHERE = "http://127.0.0.1:9/nodes/zj-platform"


@pytest.fixture
async def world(app, resources):
    await setup_bundles(resources, NOWHERE)
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "catalog", "catalog_admin")
        await make_admin(accounts, "ops", "operator")
        await make_admin(accounts, "editor", "topic_editor")
        yield


async def test_save_validate_and_publish_a_bundle(client, world):
    catalog = Browser(client)
    await catalog.login("catalog")
    listed = await catalog.get("/console/bundles")
    assert listed.status_code == 200 and "newborn" in listed.text
    draft = {k: v for k, v in definitions()[1].items() if k != "code"}  # the path names it
    draft["name"] = "企业开办一件事（精简版）"
    draft["steps"][0]["after"] = ["bank_appointment"]  # a cycle
    token = await catalog.csrf("/console/bundles")
    existing = await catalog.get("/console/bundles/company_opening")
    assert existing.status_code == 200 and "校验结果" in existing.text
    bad_json = await catalog.post("/console/bundles/company_opening", {"csrf_token": token, "definition": "{oops",
                                                                       "version": "1"})
    assert bad_json.status_code == 400 and "应为 JSON 对象" in bad_json.text and "{oops" in bad_json.text
    version = int(existing.text.split('name="version" value="')[1].split('"')[0])
    saved = await catalog.post("/console/bundles/company_opening", {
        "csrf_token": token, "definition": json.dumps(draft, ensure_ascii=False), "version": str(version)})
    assert saved.status_code == 303
    shown = await catalog.get("/console/bundles/company_opening")
    assert "步骤依赖成环" in shown.text and "disabled" in shown.text  # validation, publish held back
    refused = await catalog.post("/console/bundles/company_opening/publication",
                                 {"csrf_token": token, "version": str(version + 1)})
    assert refused.status_code == 400 and "步骤依赖成环" in refused.text
    draft["steps"][0]["after"] = []
    await catalog.post("/console/bundles/company_opening", {
        "csrf_token": token, "definition": json.dumps(draft, ensure_ascii=False), "version": str(version + 1)})
    published = await catalog.post("/console/bundles/company_opening/publication",
                                   {"csrf_token": token, "version": str(version + 2)})
    assert published.status_code == 303
    assert "企业开办一件事（精简版）" in (await client.get("/wx/v1/bundles")).text
    actions = await AuditEntry.filter(target_type="bundle", target_id="company_opening",
                                      actor_username="catalog").values_list("action", flat=True)
    assert sorted(actions) == ["bundle.publish", "bundle.save", "bundle.save"]


async def test_roles(client, world):
    ops, editor = Browser(client), Browser(client)
    await ops.login("ops")
    await editor.login("editor")
    assert (await ops.get("/console/bundles/newborn")).status_code == 200  # operators read
    assert "保存草稿" not in (await ops.get("/console/bundles/newborn")).text
    refused = await ops.post("/console/bundles/newborn", {"csrf_token": await ops.csrf(), "definition": "{}"})
    assert refused.status_code == 403
    assert (await ops.get("/console/bundle-runs")).status_code == 200
    assert (await editor.get("/console/bundles")).status_code == 403
    assert (await Browser(client).get("/console/bundles")).status_code == 303


async def test_a_junk_version_is_a_form_error_not_a_500(client, world):
    catalog = Browser(client)
    await catalog.login("catalog")
    token = await catalog.csrf("/console/bundles")
    draft = {k: v for k, v in definitions()[1].items() if k != "code"}
    saved = await catalog.post("/console/bundles/company_opening", {
        "csrf_token": token, "definition": json.dumps(draft, ensure_ascii=False), "version": "v1"})
    assert saved.status_code == 400 and "版本号应为整数" in saved.text
    published = await catalog.post("/console/bundles/company_opening/publication",
                                   {"csrf_token": token, "version": "1 OR 1=1"})
    assert published.status_code == 400 and "版本号应为整数" in published.text
    assert not await AuditEntry.filter(target_type="bundle", actor_username="catalog").exists()  # nothing written
