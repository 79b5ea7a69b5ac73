"""/admin/v1/deliveries over HTTP: operators list what failed, read every attempt, resend one or
in bulk (audited), and read the daily summary. Other roles are refused; bad queries are clear 400s."""
from __future__ import annotations

import pytest

from domain.audit.models import AuditEntry
from domain.delivery.models import Delivery
from tests.support.admins import admin_headers, cheap_admin_services, make_admin

NOWHERE = "test.nowhere"  # a kind no sender will ever handle: the relay parks it


@pytest.fixture
async def ops(app, client, resources):
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "ops", "operator")
        await make_admin(accounts, "editor", "topic_editor")
        yield await admin_headers(client, "ops")


async def _parked(resources, count: int, *, target: str = "zj-platform") -> list[int]:
    service = resources.delivery
    ids = [await service.enqueue(kind=NOWHERE, target=target, payload={"number": f"N{i}", "form": {"id": "secret"}},
                                 dedupe_key=f"{target}:{i}") for i in range(count)]
    await service.relay_due(100)
    return ids


async def test_list_filters_and_pages_newest_first(client, resources, ops):
    ids = await _parked(resources, 3) + await _parked(resources, 2, target="bj-psb")
    first = (await client.get("/admin/v1/deliveries", params={"status": "parked", "limit": 2}, headers=ops)).json()
    assert [item["id"] for item in first["items"]] == ids[::-1][:2]
    second = (await client.get("/admin/v1/deliveries", params={"status": "parked", "limit": 2,
                                                               "cursor": first["next_cursor"]}, headers=ops)).json()
    assert [item["id"] for item in second["items"]] == ids[::-1][2:4]
    item = first["items"][0]
    assert (item["status"], item["kind"], item["number"], item["attempts"]) == ("parked", NOWHERE, "N1", 1)
    assert item["parked_at"].endswith("+08:00")
    by_target = (await client.get("/admin/v1/deliveries", params={"target": "bj-psb"}, headers=ops)).json()
    assert len(by_target["items"]) == 2
    today = item["created_at"][:10]
    dated = await client.get("/admin/v1/deliveries", params={"date": today, "kind": NOWHERE}, headers=ops)
    assert len(dated.json()["items"]) == 5
    assert (await client.get("/admin/v1/deliveries", params={"date": "2001-01-01"}, headers=ops)).json()["items"] == []


async def test_detail_shows_attempts_but_not_the_applicants_data(client, resources, ops):
    [delivery_id] = await _parked(resources, 1)
    detail = (await client.get(f"/admin/v1/deliveries/{delivery_id}", headers=ops)).json()
    assert detail["payload_keys"] == ["form", "number"] and "secret" not in str(detail)
    [attempt] = detail["attempt_log"]
    assert (attempt["number"], attempt["outcome"]) == (1, "no_sender")
    missing = await client.get("/admin/v1/deliveries/999999", headers=ops)
    assert (missing.status_code, missing.json()["code"]) == (404, "delivery_not_found")


async def test_resend_one_is_audited_and_only_for_parked(client, resources, ops):
    [delivery_id] = await _parked(resources, 1)
    resent = await client.post(f"/admin/v1/deliveries/{delivery_id}/resend", json={"reason": "接口已修复"}, headers=ops)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["status"], resent.json()["attempts"]) == ("pending", 0)
    entry = await AuditEntry.get(action="delivery.resend")
    assert (entry.actor_username, entry.target_id, entry.after["reason"]) == ("ops", str(delivery_id), "接口已修复")
    again = await client.post(f"/admin/v1/deliveries/{delivery_id}/resend", headers=ops)  # empty body is fine
    assert (again.status_code, again.json()["code"]) == (409, "delivery_not_resendable")
    assert await AuditEntry.filter(action="delivery.resend").count() == 1


async def test_resend_in_bulk_by_filter(client, resources, ops):
    zj = await _parked(resources, 3)
    bj = await _parked(resources, 2, target="bj-psb")
    answer = await client.post("/admin/v1/deliveries/resend", json={"target": "zj-platform"}, headers=ops)
    assert answer.json() == {"resent": 3, "ids": zj}
    assert {d.status for d in await Delivery.filter(id__in=bj)} == {"parked"}
    entry = await AuditEntry.get(action="delivery.resend_bulk")
    assert entry.before == {"filters": {"target": "zj-platform"}}
    assert entry.after["count"] == 3
    refused = await client.post("/admin/v1/deliveries/resend", json={}, headers=ops)
    assert (refused.status_code, refused.json()["code"]) == (400, "delivery_query_invalid")
    everything = await client.post("/admin/v1/deliveries/resend", json={"all": True}, headers=ops)
    assert everything.json()["resent"] == 2


async def test_the_latest_summary(client, resources, ops):
    await _parked(resources, 2)
    summary = (await client.get("/admin/v1/deliveries/summary", headers=ops)).json()
    assert summary["parked_total"] == 2 and summary["oldest_parked"]["kind"] == NOWHERE
    stored = await resources.delivery.latest_summary()
    assert stored == summary


@pytest.mark.parametrize("query, field", [({"status": "lost"}, "status"), ({"date": "27/11/2026"}, "date"),
                                          ({"limit": "0"}, "limit"), ({"cursor": "bm90LWEtY3Vyc29y"}, "cursor")])
async def test_bad_queries_are_clear_400s(client, ops, query, field):
    answer = await client.get("/admin/v1/deliveries", params=query, headers=ops)
    assert answer.status_code == 400 and answer.json()["code"] == "delivery_query_invalid"
    assert answer.json()["errors"][0]["field"] == field


async def test_only_operators(client, resources, ops):
    [delivery_id] = await _parked(resources, 1)
    editor = await admin_headers(client, "editor")
    for method, path in (("GET", "/admin/v1/deliveries"), ("GET", f"/admin/v1/deliveries/{delivery_id}"),
                         ("POST", f"/admin/v1/deliveries/{delivery_id}/resend"),
                         ("GET", "/admin/v1/deliveries/summary")):
        answer = await client.request(method, path, headers=editor)
        assert (answer.status_code, answer.json()["code"]) == (403, "role_required"), path
    assert (await Delivery.get(id=delivery_id)).status == "parked"
