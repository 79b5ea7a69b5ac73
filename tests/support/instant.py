"""Instant approval test data: the demo catalog's own sole-proprietor matter of 西湖区, its regions,
a department node with a market-supervision seal, and citizens who passed real name for real."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from domain.applications.instant_step import seed_demo_names
from domain.identity.models import Person
from domain.seals import crypto
from tests.support.applications import PDF, TestNode, register_node

SEED = Path(__file__).resolve().parents[2] / "domain" / "catalog" / "seed_data" / "matters.jsonl"
MATTER = "330106-NAT-0023"
NODE = "330106-market_supervision"
SEAL = "seal-xihu-market"
CITIZENS = {"alice": ("张丽", "110105199003070017"), "bob": ("王强", "330106198805120023"),
            "carol": ("李娜", "310115199208150037")}


def seed_matter(code: str = MATTER) -> dict:
    """The matter exactly as the demo catalog ships it (its form schema is what the rules read)."""
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if line.strip() and json.loads(line)["code"] == code:
            return json.loads(line)
    raise LookupError(code)


def good_form(name: str = "西湖区张丽鲜花店", operator: str = "张丽", **changes) -> dict:
    return {"business_name": name, "operator_name": operator, "address": "杭州市西湖区北山街道曙光路1号",
            "address_region_code": "330106002000", "business_scope": ["花卉绿植租借与代管理"],
            "registered_capital_fen": 5_000_000, "composition": "个人经营", **changes}


async def setup_instant(resources, *, seal: bool = True) -> TestNode:
    services = resources
    await services.regions.seed_regions()
    report = await services.catalog.upsert([seed_matter()])
    assert not report.rejected, report.rejected
    node = await register_node(resources, NODE, "department", "330106000000")
    if seal:
        await services.seals.create(code=SEAL, department_code=NODE, department_kind="market_supervision",
                                       node_code=NODE, name="杭州市西湖区市场监督管理局电子印章",
                                       algorithm=crypto.ES256)
    await seed_demo_names(services.regions, services.clock.now())
    return node


async def citizen(resources, user: str = "alice") -> str:
    """A person who passed real name (L2) through the identity service and the public-security stub."""
    public_id = f"p_{user}_{uuid.uuid4().hex[:6]}"
    await Person.create(public_id=public_id, assurance=1)
    name, id_number = CITIZENS[user]
    await resources.identity.verify_real_name(person_id=public_id, channel="app", name=name,
                                                          id_number=id_number)
    return public_id


async def materials(applications, person_id: str) -> list[dict]:
    """Both materials of the matter, as uploads."""
    ids = [(await applications.upload_material(person_id=person_id, data=PDF, filename=f"{slot}.pdf")).id
           for slot in ("id", "premises")]
    return [{"name": "居民身份证", "upload_id": ids[0]}, {"name": "经营场所使用证明", "upload_id": ids[1]}]
