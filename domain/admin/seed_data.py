"""Demo console accounts for development (docs/admin.md lists them). Never seeded in
production: bff/seed.py skips them there, and their passwords are public."""
from __future__ import annotations

from domain.admin.service import AdminAccounts
from domain.audit.service import SEED

DEMO_ADMINS = [
    ("editor", "专题编辑（演示）", "govhub-dev-topics", ["topic_editor"]),
    ("catalog", "事项管理员（演示）", "govhub-dev-matters", ["catalog_admin"]),
    ("ops", "运维管理员（演示）", "govhub-dev-operator", ["operator"]),
]


async def seed_admin_accounts(accounts: AdminAccounts) -> dict:
    """Create the missing demo accounts; an existing one keeps its password and roles."""
    created = []
    for username, display_name, password, roles in DEMO_ADMINS:
        if not await accounts.exists(username):
            await accounts.create(actor=SEED, username=username, display_name=display_name, password=password,
                                  roles=roles)
            created.append(username)
    return {"created": created, "existing": len(DEMO_ADMINS) - len(created)}
