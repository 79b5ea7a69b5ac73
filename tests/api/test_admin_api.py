"""/admin/v1 over HTTP: console login, the guard, roles (RBAC), accounts and the audit trail."""
from __future__ import annotations

import httpx
import pytest
from argon2 import PasswordHasher

from domain.admin.passwords import Passwords
from domain.admin.sessions import AdminSessions
from domain.shared.clock import FrozenClock
from tests.support.admins import PASSWORD, admin_headers, cheap_admin_services, make_admin
from tests.support.clock import suite_clock


@pytest.fixture
async def accounts(app, resources):
    with cheap_admin_services(app) as accounts:
        await make_admin(accounts, "editor", "topic_editor")
        await make_admin(accounts, "catalog", "catalog_admin")
        await make_admin(accounts, "ops", "operator")
        yield accounts


async def test_login_me_logout(client, accounts):
    response = await client.post("/admin/v1/session", json={"username": "editor", "password": PASSWORD})
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["me"] == {"username": "editor", "display_name": "Editor", "roles": ["topic_editor"]}
    assert body["expires_at"].endswith("+08:00")
    headers = {"Authorization": f"Bearer {body['token']}"}
    assert (await client.get("/admin/v1/me", headers=headers)).json()["username"] == "editor"
    assert (await client.delete("/admin/v1/session", headers=headers)).status_code == 204
    after = await client.get("/admin/v1/me", headers=headers)
    assert after.status_code == 401 and after.json()["code"] == "admin_session_invalid"


async def test_every_route_but_login_needs_a_session(client, accounts):
    for method, path in (("GET", "/admin/v1/me"), ("GET", "/admin/v1/accounts"), ("GET", "/admin/v1/audit"),
                         ("GET", "/admin/v1/topics"), ("POST", "/admin/v1/topics/x/publish")):
        response = await client.request(method, path, headers={"Authorization": "Bearer not-a-real-token-at-all"})
        assert response.status_code == 401, path
        assert response.headers["WWW-Authenticate"].startswith('Bearer realm="govhub-admin"')
    citizen_token = await client.get("/admin/v1/me", headers={"Authorization": "Bearer eyJhbGciOiJFUzI1NiJ9.e30.x"})
    assert citizen_token.status_code == 401


async def test_wrong_passwords_lock_the_account(client, accounts):
    for _ in range(4):
        wrong = await client.post("/admin/v1/session", json={"username": "editor", "password": "not the password"})
        assert wrong.status_code == 401 and wrong.json()["code"] == "admin_credentials_invalid"
    locked = await client.post("/admin/v1/session", json={"username": "editor", "password": "not the password"})
    assert locked.status_code == 429 and locked.json()["code"] == "admin_account_locked"
    assert int(locked.headers["Retry-After"]) > 800
    still = await client.post("/admin/v1/session", json={"username": "editor", "password": PASSWORD})
    assert still.json()["code"] == "admin_account_locked"


class CountingHasher(PasswordHasher):
    """argon2id at the smallest cost, counting the verifications it really does."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified = 0

    def verify(self, hash, password):  # noqa: A002 - argon2-cffi's own parameter name
        self.verified += 1
        return super().verify(hash, password)


async def test_an_unknown_name_is_answered_and_locked_exactly_like_a_real_one(app, client, accounts):
    hasher, clock = CountingHasher(), FrozenClock(suite_clock.now())
    saved = (app.ctx.admin_accounts, app.ctx.admin_sessions)
    app.ctx.admin_sessions = AdminSessions(clock=clock, passwords=Passwords(hasher))

    async def attempts(username: str, ip: str) -> tuple[list, int]:
        """Six wrong passwords then the right one, as seen from outside; and the argon2 work done."""
        before = hasher.verified
        transport = httpx.ASGITransport(app=app, client=(ip, 50000))  # its own per-IP rate limit
        seen = []
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
            for password in ["not the password"] * 6 + [PASSWORD]:
                answer = await http.post("/admin/v1/session", json={"username": username, "password": password})
                body = {k: v for k, v in answer.json().items() if k != "request_id"}
                headers = {k: v for k, v in answer.headers.items() if k not in ("x-request-id", "content-length")}
                seen.append((answer.status_code, body, headers))
        return seen, hasher.verified - before

    try:
        real, real_work = await attempts("editor", "10.0.0.1")
        unknown, unknown_work = await attempts("no.such.admin", "10.0.0.2")
    finally:
        app.ctx.admin_accounts, app.ctx.admin_sessions = saved
    assert [status for status, _, _ in real] == [401] * 4 + [429] * 3  # locked at the fifth, right password too
    assert unknown == real
    assert real[4][2]["retry-after"] == str(15 * 60 + 1)
    assert unknown_work == real_work == 5  # the same argon2 work: a decoy hash for the unknown name


async def test_login_is_rate_limited_per_ip(client, accounts):
    statuses = [(await client.post("/admin/v1/session", json={"username": f"nobody{n}", "password": "x"})).status_code
                for n in range(11)]
    assert statuses == [401] * 10 + [429]


@pytest.mark.parametrize(("who", "method", "path", "body", "needed"), [
    ("editor", "GET", "/admin/v1/accounts", None, ["operator"]),
    ("editor", "POST", "/admin/v1/accounts", {"username": "x.y", "display_name": "X", "password": "p" * 12,
                                             "roles": ["operator"]}, ["operator"]),
    ("editor", "PATCH", "/admin/v1/accounts/ops", {"roles": ["topic_editor"]}, ["operator"]),
    ("editor", "GET", "/admin/v1/audit", None, ["operator"]),
    ("catalog", "GET", "/admin/v1/topics", None, ["topic_editor", "operator"]),
    ("catalog", "POST", "/admin/v1/topics", {"code": "xx", "title": "X"}, ["topic_editor"]),
    ("ops", "POST", "/admin/v1/topics", {"code": "xx", "title": "X"}, ["topic_editor"]),
    ("ops", "PATCH", "/admin/v1/topics/xx", {"title": "X", "version": 1}, ["topic_editor"]),
])
async def test_roles_are_required(client, accounts, who, method, path, body, needed):
    response = await client.request(method, path, json=body, headers=await admin_headers(client, who))
    assert response.status_code == 403, response.text
    assert response.json()["code"] == "role_required" and response.json()["roles"] == needed


async def test_operators_manage_accounts_and_changes_apply_at_once(client, accounts):
    ops = await admin_headers(client, "ops")
    created = await client.post("/admin/v1/accounts", headers=ops, json={
        "username": "li.na", "display_name": "李娜", "password": "li-na-initial-pass", "roles": ["topic_editor"]})
    assert created.status_code == 201 and created.json()["roles"] == ["topic_editor"]
    duplicate = await client.post("/admin/v1/accounts", headers=ops, json={
        "username": "li.na", "display_name": "李娜", "password": "li-na-initial-pass", "roles": ["topic_editor"]})
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "admin_account_exists"
    li = await admin_headers(client, "li.na", "li-na-initial-pass")
    assert (await client.get("/admin/v1/topics", headers=li)).status_code == 200
    demoted = await client.patch("/admin/v1/accounts/li.na", headers=ops, json={"roles": ["catalog_admin"]})
    assert demoted.json()["roles"] == ["catalog_admin"]
    assert (await client.get("/admin/v1/topics", headers=li)).status_code == 403  # same session, new roles
    await client.patch("/admin/v1/accounts/li.na", headers=ops, json={"status": "disabled"})
    assert (await client.get("/admin/v1/me", headers=li)).status_code == 401
    listed = (await client.get("/admin/v1/accounts", headers=ops)).json()["items"]
    assert [(a["username"], a["status"]) for a in listed] == [
        ("catalog", "active"), ("editor", "active"), ("li.na", "disabled"), ("ops", "active")]
    last = await client.patch("/admin/v1/accounts/ops", headers=ops, json={"status": "disabled"})
    assert last.status_code == 409 and last.json()["code"] == "last_operator"
    bad = await client.patch("/admin/v1/accounts/li.na", headers=ops, json={"roles": ["root"]})
    assert bad.status_code == 400


async def test_the_audit_trail_names_who_what_and_the_request(client, accounts):
    ops = await admin_headers(client, "ops")
    changed = await client.patch("/admin/v1/accounts/editor", headers=ops, json={"display_name": "编辑"})
    page = (await client.get("/admin/v1/audit", headers=ops,
                             params={"target_type": "admin_account", "target_id": "editor"})).json()
    update = page["items"][0]
    assert (update["action"], update["actor"], update["request_id"]) == (
        "account.update", "ops", changed.headers["X-Request-Id"])
    assert (update["before"]["display_name"], update["after"]["display_name"]) == ("Editor", "编辑")
    assert "password_hash" not in update["after"]
    by_ops = (await client.get("/admin/v1/audit", headers=ops, params={"actor": "ops"})).json()["items"]
    assert [e["action"] for e in by_ops] == ["account.update", "session.login"]


async def test_audit_paging_and_bad_queries(client, accounts):
    ops = await admin_headers(client, "ops")
    first = (await client.get("/admin/v1/audit", headers=ops, params={"limit": 2})).json()
    second = (await client.get("/admin/v1/audit", headers=ops, params={"limit": 2, "cursor": first["next_cursor"]})).json()
    ids = [e["id"] for e in first["items"] + second["items"]]
    assert len(ids) == 4 and ids == sorted(ids, reverse=True)
    for params in ({"limit": 0}, {"cursor": "nonsense"}, {"since": "yesterday"}):
        assert (await client.get("/admin/v1/audit", headers=ops, params=params)).status_code == 400
