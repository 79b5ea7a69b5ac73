"""Demo data for the embedded hub (``govhub seed``; ``make run`` calls it). Idempotent.

Demo nodes use the dev keys in devkeys/ so a developer can sign /gov/v1 requests by hand
(docs/nodes.md). Test citizens need no seeding: they log in through the mock (docs/identities.md).
"""
from __future__ import annotations

from bff.settings import DEVKEYS
from domain.admin.seed_data import seed_admin_accounts
from domain.catalog.importer import seed_catalog
from domain.topics.seed_data import seed_topics

DEMO_NODES = [
    ("zj-platform", "province", "浙江政务服务网", "330000000000", "demo_node_zhejiang_public.pem"),
    ("bj-psb", "department", "北京市公安局", "110000000000", "demo_node_beijing_psb_public.pem"),
]


async def seed_demo(resources) -> None:
    await resources.services["regions"].seed_regions()
    registry = resources.services["nodes"]
    known = {node.code for node in await registry.list()}
    for code, kind, name, region, key_file in DEMO_NODES:
        if code not in known:
            await registry.register(code=code, kind=kind, name=name, region_code=region,
                                    public_key_pem=(DEVKEYS / key_file).read_text())
    print(f"demo data seeded: {len(DEMO_NODES)} nodes")
    print(f"demo catalog (domain/catalog/seed_data): {await seed_catalog(resources.services['catalog'])}")
    # --- topics: demo console accounts (dev passwords in docs/admin.md; never in production) ---
    if not resources.settings.is_production:
        print(f"demo admin accounts: {await seed_admin_accounts(resources.services['admin_accounts'])}")
    print(f"service topics: {await seed_topics(resources.services['topics'])}")
