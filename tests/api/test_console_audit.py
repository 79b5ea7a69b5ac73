"""The audit trail has one rule for both its doors — ``GET /admin/v1/audit`` and the console's topic
page (its history): operators read every entry, a topic editor the topics' entries, a catalog admin
the matters', search words' and bundles', and nobody else anything (domain/audit/rules.py, applied
by ``AuditLog.read``). Every kind of caller at both doors: anonymous, a citizen's token, each admin
role, a forged session."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from domain.audit.service import AuditLog, SystemActor
from tests.api.test_console_pages import TOPIC, Browser, admins  # noqa: F401  (the fixture)
from tests.support.citizens import bearer, login_wechat

ROOT = Path(__file__).resolve().parents[2]
CODE = TOPIC["code"]
TOPIC_HISTORY = {"target_type": "topic", "target_id": CODE}


@pytest.fixture
async def trail(client, admins):
    """A topic made and published in the console by the editor, and entries of other kinds."""
    editor = Browser(client)
    await editor.login("editor")
    token = await editor.csrf()
    assert (await editor.post("/console/topics", {**TOPIC, "csrf_token": token})).status_code == 303
    assert (await editor.post(f"/console/topics/{CODE}/publish", {"csrf_token": token, "version": "1"})).status_code == 303
    for target_type, target_id in (("matter", "NAT-0001"), ("search_word", "7"), ("delivery", "3")):
        await AuditLog.record(actor=SystemActor("system:test"), action=f"{target_type}.test", target_type=target_type,
                              target_id=target_id, before=None, after={"n": 1})
    return editor


def session_of(browser: Browser) -> dict:
    """The console's session is the admin session: its token works as the JSON routes' bearer."""
    return {"Authorization": f"Bearer {browser.cookies['govhub_console']}"}


async def logged_in(client, username: str) -> Browser:
    browser = Browser(client)
    assert (await browser.login(username)).status_code == 303
    return browser


async def test_operators_read_everything_at_both_doors(client, trail):
    ops = await logged_in(client, "ops")
    page = await ops.get(f"/console/topics/{CODE}")
    assert page.status_code == 200 and "topic.publish" in page.text and "topic.create" in page.text
    everything = await client.get("/admin/v1/audit", headers=session_of(ops))
    assert everything.status_code == 200
    kinds = {e["target_type"] for e in everything.json()["items"]}
    assert {"topic", "matter", "search_word", "delivery", "admin_account"} <= kinds  # logins too


async def test_a_topic_editor_reads_the_topics_history_and_nothing_else(client, trail):
    page = await trail.get(f"/console/topics/{CODE}")
    assert page.status_code == 200 and "topic.publish" in page.text and "topic.create" in page.text
    headers = session_of(trail)
    topics = await client.get("/admin/v1/audit", headers=headers, params=TOPIC_HISTORY)
    assert topics.status_code == 200
    assert [(e["action"], e["actor"], e["target_type"]) for e in topics.json()["items"]] == [
        ("topic.publish", "editor", "topic"), ("topic.create", "editor", "topic")]
    for params, readers in (({}, ["operator"]), ({"target_id": CODE}, ["operator"]),
                            ({"target_type": "admin_account"}, ["operator"]),
                            ({"target_type": "delivery"}, ["operator"]),
                            ({"target_type": "matter"}, ["catalog_admin", "operator"])):
        refused = await client.get("/admin/v1/audit", headers=headers, params=params)
        assert refused.status_code == 403, params
        assert (refused.json()["code"], refused.json()["roles"]) == ("role_required", readers), params


async def test_a_catalog_admin_reads_the_catalogs_history_only(client, trail):
    catalog = await logged_in(client, "catalog")
    assert (await catalog.get(f"/console/topics/{CODE}")).status_code == 403  # no topic role: no topic page
    headers = session_of(catalog)
    for target_type in ("matter", "search_word", "bundle"):
        answer = await client.get("/admin/v1/audit", headers=headers, params={"target_type": target_type})
        assert answer.status_code == 200, target_type
        assert {e["target_type"] for e in answer.json()["items"]} <= {target_type}
    for params in (TOPIC_HISTORY, {}, {"target_type": "admin_account"}):
        refused = await client.get("/admin/v1/audit", headers=headers, params=params)
        assert (refused.status_code, refused.json()["code"]) == (403, "role_required"), params


async def test_nobody_else_reads_it_at_either_door(client, trail, mock_url):
    anonymous = Browser(client)
    answer = await anonymous.get(f"/console/topics/{CODE}")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")
    assert (await client.get("/admin/v1/audit", params=TOPIC_HISTORY)).status_code == 401
    citizen = bearer(await login_wechat(client, mock_url, "alice"))
    assert (await client.get(f"/console/topics/{CODE}", headers=citizen)).status_code == 303
    refused = await client.get("/admin/v1/audit", headers=citizen, params=TOPIC_HISTORY)
    assert (refused.status_code, refused.json()["code"]) == (401, "admin_session_invalid")
    forged = Browser(client)
    forged.cookies = {"govhub_console": "not-a-session"}
    assert (await forged.get(f"/console/topics/{CODE}")).status_code == 303
    refused = await client.get("/admin/v1/audit", headers=session_of(forged), params=TOPIC_HISTORY)
    assert (refused.status_code, refused.json()["code"]) == (401, "admin_session_invalid")
    await trail.post("/console/logout", {"csrf_token": await trail.csrf()})  # a session that ended
    assert (await trail.get(f"/console/topics/{CODE}")).status_code == 303
    ended = await client.get("/admin/v1/audit", headers={"Authorization": "Bearer " + "x" * 43}, params=TOPIC_HISTORY)
    assert ended.status_code == 401


def test_no_route_reads_the_trail_around_its_rule():
    """Every door calls AuditLog.read (the guard); AuditLog.list is the platform's own read."""
    unguarded = []
    for path in (ROOT / "bff").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "list" and getattr(node.value, "id", None) == "AuditLog":
                unguarded.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not unguarded, unguarded
