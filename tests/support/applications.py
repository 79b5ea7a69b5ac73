"""Applications test data: a few matters built with the real catalog upsert, nodes with fresh keys
registered in the real registry, and verified citizens."""
from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from domain.identity.models import Person
from domain.identity.people import NAME
from domain.nodes import signatures
from tests.support.clock import suite_clock

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64

FORM_SCHEMA = {"type": "object", "additionalProperties": False,
               "properties": {"amount_fen": {"type": "integer", "title": "提取金额（分）", "minimum": 1},
                              "bank_account": {"type": "string", "pattern": "^[0-9]{12,19}$"}},
               "required": ["amount_fen", "bank_account"]}
FORM = {"amount_fen": 1200000, "bank_account": "6222020000000000001"}
MATERIALS = [{"name": "居民身份证", "license_type": "resident_id_card", "required": True},
             {"name": "购房合同", "license_type": None, "required": True}]

XIHU_MARKET = "330106-market_supervision"  # has its own node
HZ_FUND = "330100-housing_fund"  # no node of its own: the Zhejiang platform handles it
BJ_FUND = "110000-housing_fund"  # no node at all in these tests


def matter(code: str, region: str, department: str, **extra) -> dict:
    return {"code": code, "catalog_code": "NAT-0001", "name": "住房公积金提取（购房）",
            "kind": "administrative_payment", "region_code": region, "department_code": department,
            "materials": MATERIALS, "form_schema": FORM_SCHEMA, "promised_limit_days": 3, "legal_limit_days": 5,
            "online_depth": 4, "channels": ["wechat", "alipay", "app", "pc"], **extra}


MATTERS = [
    matter("330100-NAT-0001", "330100000000", HZ_FUND),
    matter("330106-NAT-0023", "330106000000", XIHU_MARKET, catalog_code="NAT-0023", name="个体工商户设立登记",
           instant_approval=True, promised_limit_days=0),
    matter("110000-NAT-0001", "110000000000", BJ_FUND),
    matter("330100-NAT-0006", "330100000000", HZ_FUND, catalog_code="NAT-0006", name="住房公积金缴存证明打印",
           online_depth=2),
]


@dataclass
class TestNode:
    code: str
    key: ec.EllipticCurvePrivateKey

    def headers(self, method: str, path: str, body: bytes, query: str = "") -> dict:
        return signatures.signed_headers(private_key=self.key, node=self.code, method=method, path=path,
                                         query_string=query, body=body, timestamp=int(suite_clock.timestamp()))


async def register_node(resources, code: str, kind: str, region: str) -> TestNode:
    key = ec.generate_private_key(ec.SECP256R1())
    await resources.nodes.register(code=code, kind=kind, name=f"测试节点 {code}", region_code=region,
                                               public_key_pem=signatures.public_key_pem(key.public_key()))
    return TestNode(code, key)


async def setup_catalog_and_nodes(resources) -> dict[str, TestNode]:
    report = await resources.catalog.upsert(MATTERS)
    assert not report.rejected, report.rejected
    return {"zj": await register_node(resources, "zj-platform", "province", "330000000000"),
            "xihu": await register_node(resources, XIHU_MARKET, "department", "330106000000"),
            "bj-psb": await register_node(resources, "bj-psb", "department", "110000000000")}


async def verified_person(resources, public_id: str, name: str = "张丽", assurance: int = 2) -> str:
    vault = resources.vault
    await Person.create(public_id=public_id, assurance=assurance, name_sealed=vault.seal(name, context=NAME))
    return public_id
