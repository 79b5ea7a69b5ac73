"""Demo seals and licenses for the embedded hub (``govhub seed``), for the test identities of
docs/identities.md. Idempotent: what exists is left alone."""
from __future__ import annotations

from domain.licenses.catalog import license_type
from domain.licenses.errors import LicenseExists
from domain.licenses.service import LicenseService
from domain.seals import rules as seal_rules
from domain.seals.errors import SealExists
from domain.seals.service import SealService

# (seal code, department, department kind, node, name, algorithm, the license types it may sign)
DEMO_SEALS = [
    ("seal-bj-psb", "110000-public_security", "public_security", "bj-psb", "北京市公安局电子印章", seal_rules.SM2,
     ["resident_id_card", "household_register", "driving_license", "vehicle_license", "residence_permit"]),
    ("seal-zj-market", "330000-market_supervision", "market_supervision", "zj-platform",
     "浙江省市场监督管理局电子印章", seal_rules.ES256,
     ["business_license", "individual_business_license", "food_business_license", "drug_business_license"]),
]
# (node, type, number, changes to the type's example)
DEMO_LICENSES = [
    ("bj-psb", "resident_id_card", "DEMO-ID-ALICE", {}),
    ("bj-psb", "driving_license", "DEMO-DL-ALICE", {}),
    ("bj-psb", "residence_permit", "DEMO-RP-BOB", {}),
    ("zj-platform", "individual_business_license", "DEMO-IBL-BOB", {}),
]


async def seed_demo_licenses(seals: SealService, licenses: LicenseService) -> dict[str, int]:
    await seals.ensure_platform_seal()
    made = {"seals": 0, "licenses": 0}
    for code, department, kind, node, name, algorithm, types in DEMO_SEALS:
        try:
            await seals.create(code=code, department_code=department, department_kind=kind, node_code=node,
                               name=name, algorithm=algorithm, license_types=types)
            made["seals"] += 1
        except SealExists:
            pass
    for node, type_code, number, changes in DEMO_LICENSES:
        try:
            await licenses.issue(node=node, type_code=type_code, number=number,
                                 data={**license_type(type_code).example, **changes})
            made["licenses"] += 1
        except LicenseExists:
            pass
    return made
