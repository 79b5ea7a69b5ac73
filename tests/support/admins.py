"""Admin accounts for tests: cheap argon2 parameters, accounts made directly, logins over HTTP."""
from __future__ import annotations

import contextlib

from argon2 import PasswordHasher

from domain.admin.passwords import Passwords
from domain.admin.service import AdminAccounts
from domain.admin.sessions import AdminSessions
from domain.audit.service import SystemActor
from domain.shared.clock import Clock
from tests.support.clock import suite_clock

PASSWORD = "test-password-123"
TESTER = SystemActor("system:test")


def cheap_passwords() -> Passwords:
    """argon2id with the smallest cost: the rules are the same, the hashing is fast."""
    return Passwords(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@contextlib.contextmanager
def cheap_admin_services(app, clock: Clock | None = None):
    """Point the hub's admin services at cheap hashing for a test module, then restore them."""
    saved = (app.ctx.admin_accounts, app.ctx.admin_sessions)
    passwords, clock = cheap_passwords(), clock or suite_clock
    app.ctx.admin_accounts = AdminAccounts(clock=clock, passwords=passwords)
    app.ctx.admin_sessions = AdminSessions(clock=clock, passwords=passwords)
    try:
        yield app.ctx.admin_accounts
    finally:
        app.ctx.admin_accounts, app.ctx.admin_sessions = saved


async def make_admin(accounts: AdminAccounts, username: str, *roles: str) -> None:
    await accounts.create(actor=TESTER, username=username, display_name=username.title(), password=PASSWORD,
                          roles=list(roles))


async def admin_headers(client, username: str, password: str = PASSWORD) -> dict:
    response = await client.post("/admin/v1/session", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
