"""A matter's entry survives edits that do not mention it (issue #12): an editor or an import feed
unaware of entries never opens a fund matter to the plain application route by re-saving it."""
from __future__ import annotations

import pytest

from domain.catalog.models import Matter
from tests.support.admins import admin_headers, cheap_admin_services, make_admin

FUND = {"catalog_code": "HF-LEAVE", "name": "住房公积金离职提取（刷脸办）", "kind": "administrative_payment",
        "region_code": "340100000000", "department_code": "340100-housing_fund", "online_depth": 4,
        "channels": ["wechat", "alipay", "app"], "form_schema": {"type": "object"}}


@pytest.fixture
async def cat(app, client):
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "cat", "catalog_admin")
        yield await admin_headers(client, "cat")


async def test_an_editor_re_saving_a_fund_matter_keeps_its_entry(client, cat):
    created = await client.put("/admin/v1/matters/340100-HF-LEAVE", json={**FUND, "entry": "housing_fund"},
                               headers=cat)
    assert (created.status_code, created.json()["entry"]) == (200, "housing_fund"), created.text
    renamed = await client.put("/admin/v1/matters/340100-HF-LEAVE", json={**FUND, "name": "离职提取"}, headers=cat)
    assert (renamed.json()["name"], renamed.json()["entry"]) == ("离职提取", "housing_fund")
    shown = (await client.get("/wx/v1/matters/340100-HF-LEAVE")).json()
    assert shown["entry"] == "housing_fund"  # a page sends the citizen to the fund's route
    opened = await client.put("/admin/v1/matters/340100-HF-LEAVE", json={**FUND, "entry": "application"},
                              headers=cat)
    assert opened.json()["entry"] == "application"  # only when the editor says so (and it is audited)
    bad = await client.put("/admin/v1/matters/340100-HF-LEAVE", json={**FUND, "entry": "admin"}, headers=cat)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_matter")


async def test_an_import_row_silent_on_its_entry_keeps_the_stored_one(resources):
    catalog = resources.catalog
    record = {**FUND, "code": "340100-HF-LEAVE"}
    assert (await catalog.upsert([{**record, "entry": "housing_fund"}])).inserted == 1
    assert (await catalog.upsert([record])).unchanged == 1  # the feed does not know entries: nothing changes
    assert (await catalog.upsert([{**record, "fee_fen": 1}])).updated == 1
    assert (await Matter.get(code="340100-HF-LEAVE")).entry == "housing_fund"
    assert (await catalog.upsert([{**record, "entry": "application"}])).updated == 1
    assert (await Matter.get(code="340100-HF-LEAVE")).entry == "application"
    assert (await catalog.upsert([{**record, "code": "340100-NEW"}])).inserted == 1
    assert (await Matter.get(code="340100-NEW")).entry == "application"  # a new matter: the default
