"""The catalog and grant routes over HTTP (signed /gov/v1 and the operators' /admin/v1): a node
publishes and retires its services, a consumer asks, the provider decides, both see the grant and
nobody else does; operators see everything, decide the hub's own services, stop any grant; and
the exchange fails closed when time-stamping has failed too long."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from adapters.departments.stub.data_services import definition
from tests.support.admins import admin_headers, cheap_admin_services, make_admin
from tests.support.applications import register_node
from tests.support.citizens import ALICE
from tests.support.clock import suite_clock
from tests.support.sharing import log_record

HOUSEHOLD = {k: v for k, v in definition("household-register-extract").items() if k != "provider"}


@pytest.fixture
async def ops(client, app):
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "ops", "operator")
        await make_admin(accounts, "editor", "topic_editor")
        yield await admin_headers(client, "ops")


@pytest.fixture
async def nodes(resources):
    return {code: await register_node(resources, code, "department", "110000000000")
            for code in ("bj-psb", "bj-court", "sh-tax")}


async def signed(client, node, method: str, path: str, body: dict | None = None, query: str = "",
                 headers: dict | None = None):
    raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {**node.headers(method, path, raw, query), **({"Content-Type": "application/json"} if raw else {}),
               **(headers or {})}
    return await client.request(method, path + (f"?{query}" if query else ""), content=raw, headers=headers)


def ask(**extra) -> dict:
    return {"provider": "bj-psb", "service_code": "household-register-extract", "fields": ["name", "sex"],
            "purpose": "审理离婚诉讼案件核实当事人户籍", "legal_basis": "《中华人民共和国民事诉讼法》第六十七条",
            "expected_daily_calls": 100, **extra}


async def test_publish_ask_decide_and_see_it_from_both_sides_only(client, nodes, ops):
    published = await signed(client, nodes["bj-psb"], "POST", "/gov/v1/sharing/services", HOUSEHOLD)
    assert published.status_code == 201, published.text
    assert published.json()["service_id"] == "CN/GOV/bj-psb/psb-data/household-register-extract"
    listed = (await signed(client, nodes["sh-tax"], "GET", "/gov/v1/sharing/services")).json()["items"]
    assert {s["code"] for s in listed} == {"identity-verification", "health-records", "household-register-extract"}
    asked = await signed(client, nodes["bj-court"], "POST", "/gov/v1/sharing/grants", ask())
    assert asked.status_code == 201, asked.text
    grant_id = asked.json()["id"]
    approved = await signed(client, nodes["bj-psb"], "POST", f"/gov/v1/sharing/grants/{grant_id}/approve",
                            {"fields": ["name"], "quota_per_minute": 10, "valid_days": 30})
    assert (approved.json()["status"], approved.json()["fields_granted"]) == ("active", ["name"])
    as_provider = await signed(client, nodes["bj-psb"], "GET", "/gov/v1/sharing/grants", query="role=provider")
    as_consumer = await signed(client, nodes["bj-court"], "GET", "/gov/v1/sharing/grants", query="role=consumer")
    assert [g["id"] for g in as_provider.json()["items"]] == [g["id"] for g in as_consumer.json()["items"]] == [grant_id]
    stranger = await signed(client, nodes["sh-tax"], "GET", f"/gov/v1/sharing/grants/{grant_id}")
    assert (stranger.status_code, stranger.json()["code"]) == (403, "data_grant_party_only")
    assert (await signed(client, nodes["sh-tax"], "GET", "/gov/v1/sharing/grants")).json()["items"] == []
    seen = await client.get("/admin/v1/sharing/grants", params={"node": "bj-court"}, headers=ops)
    assert [g["id"] for g in seen.json()["items"]] == [grant_id]
    audit = await client.get("/admin/v1/audit", params={"target_id": grant_id}, headers=ops)
    assert [e["action"] for e in audit.json()["items"]] == ["sharing.grant.approve", "sharing.grant.request"]


async def test_a_bad_description_or_request_is_refused_field_by_field_and_nothing_is_stored(client, nodes, resources):
    bad = await signed(client, nodes["bj-psb"], "POST", "/gov/v1/sharing/services",
                       {**HOUSEHOLD, "fields": [{**HOUSEHOLD["fields"][0], "classification": "secret"}]})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")
    assert await resources.sharing.catalog.list(provider="bj-psb") == []
    await signed(client, nodes["bj-psb"], "POST", "/gov/v1/sharing/services", HOUSEHOLD)
    refused = await signed(client, nodes["bj-court"], "POST", "/gov/v1/sharing/grants", ask(fields=["blood_type"]))
    assert (refused.status_code, refused.json()["code"]) == (400, "data_grant_invalid")
    assert refused.json()["errors"][0]["field"] == "fields"


async def test_operators_decide_the_hubs_own_service_and_stop_any_grant(client, nodes, ops, resources):
    await signed(client, nodes["bj-psb"], "POST", "/gov/v1/sharing/services", HOUSEHOLD)
    own = (await signed(client, nodes["bj-court"], "POST", "/gov/v1/sharing/grants", ask(
        provider="govhub", service_code="identity-verification", fields=["result"]))).json()["id"]
    theirs = (await signed(client, nodes["bj-court"], "POST", "/gov/v1/sharing/grants", ask())).json()["id"]
    approved = await client.post(f"/admin/v1/sharing/grants/{own}/approve", json={"quota_per_minute": 30},
                                 headers=ops)
    assert approved.json()["status"] == "active", approved.text
    not_ours = await client.post(f"/admin/v1/sharing/grants/{theirs}/approve", json={}, headers=ops)
    assert (not_ours.status_code, not_ours.json()["code"]) == (409, "data_grant_step_not_allowed")
    await signed(client, nodes["bj-psb"], "POST", f"/gov/v1/sharing/grants/{theirs}/approve", {})
    stopped = await client.post(f"/admin/v1/sharing/grants/{theirs}/suspend", json={"reason": "数据泄露事件排查"},
                                headers=ops)
    assert stopped.json()["status"] == "suspended"
    editor = await admin_headers(client, "editor")
    assert (await client.get("/admin/v1/sharing/grants", headers=editor)).json()["code"] == "role_required"


async def test_a_retired_service_serves_through_its_notice_only(client, nodes, resources):
    await signed(client, nodes["bj-psb"], "POST", "/gov/v1/sharing/services", HOUSEHOLD)
    retired = await signed(client, nodes["bj-psb"], "POST", "/gov/v1/sharing/services/household-register-extract/retire",
                           {"notice_days": 7})
    assert retired.json()["status"] == "retiring" and retired.json()["retire_at"]
    assert await resources.sharing.catalog.serving_terms("bj-psb", "household-register-extract") is not None
    not_mine = await signed(client, nodes["sh-tax"], "POST", "/gov/v1/sharing/services/household-register-extract/retire",
                            {"notice_days": 7})
    assert (not_mine.status_code, not_mine.json()["code"]) == (404, "data_service_not_found")


async def test_the_exchange_fails_closed_and_says_why(client, nodes, resources):
    """A record waiting for its timestamp longer than allowed: no new call crosses until stamping works."""
    await signed(client, nodes["bj-psb"], "POST", "/gov/v1/sharing/services", HOUSEHOLD)
    log = resources.sharing.log
    await log.append(log_record(1, suite_clock.now() - log.max_unstamped - timedelta(seconds=5)))
    log.forget()
    answer = await signed(client, nodes["bj-court"], "GET",
                          "/r1/CN/GOV/bj-psb/psb-data/household-register-extract/extract",
                          query=f"id_number={ALICE['id_number']}", headers={"X-Road-Client": "CN/GOV/bj-court"})
    assert (answer.status_code, answer.json()["code"]) == (503, "message_log_unavailable")
    assert "时间戳" in answer.json()["detail"]
