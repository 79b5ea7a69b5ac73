"""The three demo bundles (newborn, opening a company, closing a company) and the matters their
steps apply for, loaded by ``govhub seed`` (bff/seed.py). Idempotent.

The step matters live in their own file (``seed_data/matters.jsonl``, catalog codes ``BDL-…``)
beside the demo catalog rather than in it, and go through the catalog's own import; the bundles
are declared (``seed_data/bundles.json``), validated and published like a product team's.
"""
from __future__ import annotations

import json
from pathlib import Path

SEED_DATA = Path(__file__).resolve().parent / "seed_data"
MATTERS = SEED_DATA / "matters.jsonl"
BUNDLES = SEED_DATA / "bundles.json"

# Department kinds whose licenses the demo steps issue, and so need a seal on the node that
# handles them (the Zhejiang platform: every demo bundle is in 西湖区).
SEAL_KINDS = ("health", "public_security", "human_resources_social_security", "medical_security",
              "housing_fund", "market_supervision")
NODE = "zj-platform"
SM2 = "SM2-SM3"  # domain/seals/crypto.py's name for SM2 with SM3


def definitions() -> list[dict]:
    return json.loads(BUNDLES.read_text(encoding="utf-8"))


async def seed_matters(catalog) -> dict:
    """Through the catalog's upsert, as ``govhub catalog import`` does (unchanged rows stay so)."""
    records = [json.loads(line) for line in MATTERS.read_text(encoding="utf-8").splitlines() if line.strip()]
    report = await catalog.upsert(records)
    if report.rejected:
        raise ValueError(f"demo bundle matters rejected: {report.rejected}")
    return {"matters": len(records)}


async def seed_seals(seals, *, node: str = NODE, region6: str = "330000") -> int:
    """A seal for each kind the demo licenses need, where the node has none yet."""
    made = 0
    for kind in SEAL_KINDS:
        if await seals.usable_seal_for(node_code=node, department_kind=kind) is None:
            await seals.create(code=f"seal-{node}-{kind}".replace("_", "-")[:64], department_code=f"{region6}-{kind}",
                               department_kind=kind, node_code=node, name=f"浙江省{kind}电子印章（演示）",
                               algorithm=SM2)
            made += 1
    return made


async def seed_bundles(bundles, catalog, seals) -> dict:
    report = await seed_matters(catalog)
    report["seals"] = await seed_seals(seals)
    report["bundles"] = await bundles.declarations.seed(definitions())
    return report
