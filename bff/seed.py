"""Demo data for the embedded hub (``govhub seed``; ``make run`` calls it). Idempotent.

Demo nodes use the dev keys in devkeys/ so a developer can sign /gov/v1 requests by hand
(docs/nodes.md). Test citizens need no seeding: they log in through the mock (docs/identities.md).
"""
from __future__ import annotations

from bff.container import Hub
from bff.settings import DEVKEYS
from domain.admin.seed_data import seed_admin_accounts
from domain.catalog.importer import seed_catalog
from domain.catalog.search_words import seed_search_words
from domain.topics.seed_data import seed_topics

DEMO_NODES = [
    ("zj-platform", "province", "浙江政务服务网", "330000000000", "demo_node_zhejiang_public.pem"),
    ("bj-psb", "department", "北京市公安局", "110000000000", "demo_node_beijing_psb_public.pem"),
]


async def seed_demo(hub: Hub) -> None:
    await hub.regions.seed_regions()
    registry = hub.nodes
    known = {node.code for node in await registry.list()}
    for code, kind, name, region, key_file in DEMO_NODES:
        if code not in known:
            await registry.register(code=code, kind=kind, name=name, region_code=region,
                                    public_key_pem=(DEVKEYS / key_file).read_text())
    print(f"demo data seeded: {len(DEMO_NODES)} nodes")
    print(f"demo catalog (domain/catalog/seed_data): {await seed_catalog(hub.catalog)}")
    print(f"search words (domain/catalog/seed_data): {await seed_search_words(hub.catalog.words)}")
    # topics: demo console accounts (dev passwords in docs/admin.md; never in production)
    if not hub.settings.is_production:
        print(f"demo admin accounts: {await seed_admin_accounts(hub.admin_accounts)}")
    print(f"service topics: {await seed_topics(hub.topics)}")
    # delivery: demo provincial platforms, delivering to the department stub
    if not hub.settings.is_production:
        print(f"demo delivery nodes: {await _seed_delivery_nodes(hub)}")
    # seals and licenses: demo seals and the test identities' licenses (docs/licenses.md)
    if not hub.settings.is_production:
        from domain.licenses.demo import seed_demo_licenses

        print(f"demo seals and licenses: "
              f"{await seed_demo_licenses(hub.seals, hub.licenses)}")
    # instant approval: the name registry, and the market-supervision seals that sign business
    # licenses where the demo seed has none (docs/instant-approval.md)
    if not hub.settings.is_production:
        print(f"instant approval: {await _seed_instant_approval(hub)}")
    # housing fund: the demo fund centres (nodes played by the stub) and their withdrawal matters
    if not hub.settings.is_production:
        print(f"housing fund: {await _seed_housing_fund(hub)}")
    # bundles: the newborn / company opening / company closing bundles, their step matters, and
    # the Zhejiang platform's seals for the licenses their steps issue (docs/bundles.md)
    if not hub.settings.is_production:
        from domain.bundles.demo import seed_bundles

        print(f"bundles: {await seed_bundles(hub.bundles, hub.catalog, hub.seals)}")
    # data sharing: the stub's providers and the data services they publish (docs/sharing.md)
    if not hub.settings.is_production:
        print(f"data sharing: {await _seed_data_services(hub)}")
    # health codes: Zhejiang signs itself (the stub plays it), Beijing delegated (docs/health-codes.md)
    if not hub.settings.is_production:
        print(f"health codes: {await _seed_health(hub)}")


# delivery: demo provincial platforms (docs/delivery.md)
# The seven demo provinces' platforms, all played by the department stub that `govhub run` starts
# (adapters/departments/stub), with dev keys from devkeys/. bj-psb and zj-platform exist above.
DELIVERY_NODES = [
    ("beijing-platform", "北京市政务服务网", "110000000000", "demo_node_beijing_public.pem"),
    ("tianjin-platform", "天津市政务服务网", "120000000000", "demo_node_tianjin_public.pem"),
    ("hebei-platform", "河北政务服务网", "130000000000", "demo_node_hebei_public.pem"),
    ("shanghai-platform", "上海市一网通办", "310000000000", "demo_node_shanghai_public.pem"),
    ("jiangsu-platform", "江苏政务服务网", "320000000000", "demo_node_jiangsu_public.pem"),
    ("anhui-platform", "安徽政务服务网", "340000000000", "demo_node_anhui_public.pem"),
]


async def _seed_delivery_nodes(hub: Hub) -> dict:
    from adapters.departments.stub import node_endpoint, stub_url

    settings = hub.settings
    registry, base = hub.nodes, stub_url(settings.mock_host, settings.stub_port)
    known = {node.code: node for node in await registry.list()}
    added = endpoints = 0
    for code, name, region, key_file in DELIVERY_NODES:
        if code not in known:
            await registry.register(code=code, kind="province", name=name, region_code=region,
                                    public_key_pem=(DEVKEYS / key_file).read_text(),
                                    endpoint_url=node_endpoint(base, code))
            added += 1
    for code in ("zj-platform", "bj-psb", *(node[0] for node in DELIVERY_NODES)):
        node = known.get(code) or await registry.get(code)
        if node.endpoint_url is None:  # an endpoint an operator set is theirs: left alone
            await registry.set_endpoint(code=code, endpoint_url=node_endpoint(base, code))
            endpoints += 1
    return {"nodes_added": added, "endpoints_set": endpoints}


# instant approval: demo data
# The provincial platforms that handle the demo catalog's sole-proprietor registrations and have
# no market-supervision seal of their own yet (zj-platform has seal-zj-market, licenses block).
INSTANT_SEALS = [
    ("seal-bj-market", "110000-market_supervision", "beijing-platform", "北京市市场监督管理局电子印章"),
    ("seal-sh-market", "310000-market_supervision", "shanghai-platform", "上海市市场监督管理局电子印章"),
]


async def _seed_instant_approval(hub: Hub) -> dict:
    from domain.applications.instant_step import seed_demo_names
    from domain.seals import crypto
    from domain.seals.errors import SealExists

    made = 0
    for code, department, node, name in INSTANT_SEALS:
        try:
            await hub.seals.create(code=code, department_code=department, department_kind="market_supervision",
                                           node_code=node, name=name, algorithm=crypto.SM2)
            made += 1
        except SealExists:
            pass
    names = await seed_demo_names(hub.regions, hub.clock.now())
    return {"seals": made, **names}


# housing fund: demo data (docs/housing-fund.md)
HOUSING_FUND_KEYS = {"110000-housing_fund": "demo_node_beijing_fund_public.pem",
                     "330100-housing_fund": "demo_node_hangzhou_fund_public.pem",
                     "340100-housing_fund": "demo_node_hefei_fund_public.pem"}


async def _seed_housing_fund(hub: Hub) -> dict:
    """The demo centres as department nodes delivering to the department stub (which plays them,
    accounts included), and each centre's six withdrawal matters in the catalog."""
    from adapters.departments.stub import node_endpoint, stub_url
    from domain.housing_fund.matters import DEMO_CENTRES, offer_withdrawals

    settings, registry = hub.settings, hub.nodes
    known = {node.code for node in await registry.list()}
    added = 0
    for centre in DEMO_CENTRES:
        if centre.code not in known:
            await registry.register(code=centre.code, kind="department", name=centre.name,
                                    region_code=centre.region_code,
                                    public_key_pem=(DEVKEYS / HOUSING_FUND_KEYS[centre.code]).read_text(),
                                    endpoint_url=node_endpoint(stub_url(settings.mock_host, settings.stub_port),
                                                               centre.code))
            added += 1
    return {"centres_added": added, "matters": await offer_withdrawals(hub.catalog)}


# data sharing: demo providers, played by the department stub (adapters/departments/stub/data_services.py)
SHARING_NODES = [
    ("bj-hrss", "北京市人力资源和社会保障局", "demo_node_beijing_hrss_public.pem"),
    ("bj-amr", "北京市市场监督管理局", "demo_node_beijing_amr_public.pem"),
]


async def _seed_data_services(hub: Hub) -> dict:
    """The providers registered with their stub endpoints, and each stub service published once
    (a service already in the catalog is the provider's: left alone)."""
    from adapters.departments.stub import node_endpoint, stub_url
    from adapters.departments.stub.data_services import SERVICE_DEFINITIONS

    registry, base = hub.nodes, stub_url(hub.settings.mock_host, hub.settings.stub_port)
    known = {node.code: node for node in await registry.list()}
    for code, name, key_file in SHARING_NODES:
        if code not in known:
            await registry.register(code=code, kind="department", name=name, region_code="110000000000",
                                    public_key_pem=(DEVKEYS / key_file).read_text(),
                                    endpoint_url=node_endpoint(base, code))
    published = {(s.provider, s.code) for s in await hub.sharing.catalog.list()}
    fresh = [d for d in SERVICE_DEFINITIONS if (d["provider"], d["code"]) not in published]
    for definition in fresh:
        await hub.sharing.catalog.publish(provider=definition["provider"],
                                          description={k: v for k, v in definition.items() if k != "provider"})
    return {"providers": len(SHARING_NODES) + 1, "services_published": len(fresh)}


async def _seed_health(hub: Hub) -> dict:
    from domain.health.demo import seed_health

    zhejiang, beijing = await hub.nodes.get("zj-platform"), await hub.nodes.get("beijing-platform")
    return await seed_health(hub.health, zhejiang=zhejiang, beijing=beijing, now=hub.clock.now(),
                             zhejiang_certificate=(DEVKEYS / "health_zhejiang_cert.pem").read_bytes())
