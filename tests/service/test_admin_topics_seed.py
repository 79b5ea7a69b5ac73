"""The demo seed of console accounts and service topics: idempotent, never accounts in production."""
from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import domain.catalog
from domain.admin.models import AdminAccount
from domain.admin.seed_data import DEMO_ADMINS
from domain.topics import rules
from domain.topics.models import Topic
from domain.topics.seed_data import TOPICS
from tests.support.admins import cheap_passwords


def _demo_resources(resources, *, production: bool):
    """The session's services with cheap hashing, under dev or production settings."""
    from domain.admin.service import AdminAccounts

    return replace(resources, settings=replace(resources.settings, env="production" if production else "dev"),
                   admin_accounts=AdminAccounts(clock=resources.clock, passwords=cheap_passwords()))


async def test_production_gets_the_topics_but_never_the_demo_accounts(resources):
    from bff.seed import seed_demo

    await seed_demo(_demo_resources(resources, production=True))
    assert await AdminAccount.all().count() == 0
    assert await Topic.filter(status="published").count() == len(TOPICS) == 15
    await seed_demo(_demo_resources(resources, production=False))
    await seed_demo(_demo_resources(resources, production=False))  # idempotent
    assert sorted(await AdminAccount.all().values_list("username", flat=True)) == sorted(u for u, *_ in DEMO_ADMINS)
    assert await Topic.all().count() == 15


def test_seed_topics_are_complete_and_name_items_of_the_catalog_seed():
    seed_file = Path(domain.catalog.__file__).parent / "seed_data" / "matters.jsonl"
    catalog_codes = {json.loads(line)["catalog_code"] for line in seed_file.read_text(encoding="utf-8").splitlines()}
    for code, title, subtitle, weight, regions, refs, _links in TOPICS:
        values = {"code": code, "title": title, "subtitle": subtitle, "banner_url": None, "weight": weight,
                  "regions": regions, "channels": ["wechat"], "starts_at": None, "ends_at": None,
                  "entries": [{"kind": "matter", "ref": r} for r in refs]}
        assert rules.publish_problems(values) == [], code
        assert set(refs) <= catalog_codes, code
    titles = {title for _, title, *_ in TOPICS}
    assert {"小微企业和个体工商户服务专栏", "疫情防控", "复工复产", "就业服务"} <= titles
