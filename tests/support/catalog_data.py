"""A small catalog for tests: real-looking names over a few regions, built with the real upsert."""
from __future__ import annotations

NAMES = [
    "住房公积金提取（购房）", "住房公积金提取（租房）", "住房公积金个人账户转移", "住房公积金贷款申请",
    "社会保障卡申领", "社会保障卡挂失", "社保关系转移接续", "城乡居民养老保险参保登记", "企业职工养老保险关系转移",
    "个体工商户设立登记", "个体工商户注销登记", "企业开办一件事", "企业注销登记", "营业执照遗失补领",
    "出生医学证明办理", "新生儿入户", "户口迁移", "居民身份证换领", "居民身份证挂失申报",
    "机动车驾驶证换证", "机动车行驶证补领", "结婚登记预约", "离婚登记预约", "异地就医备案",
    "医保关系转移接续", "失业登记", "就业创业证申领", "失业保险金申领", "不动产登记资料查询",
    "出入境证件办理", "港澳通行证再次签注", "留学人员回国证明", "公积金缴存证明打印", "社保缴费证明打印",
]
REGIONS = ["000000000000", "330000000000", "330100000000", "330106000000", "110000000000", "110101000000",
           "310000000000", "330200000000"]


def record(i: int, name: str, region: str, **extra) -> dict:
    return {
        "code": f"T-{i:04d}", "catalog_code": f"NAT-T{i % len(NAMES):03d}", "name": name,
        "kind": "public_service" if i % 3 else "administrative_licensing", "region_code": region,
        "department_code": f"{region[:6]}-dept{i % 4}", "for_individuals": True, "for_legal_persons": i % 5 == 0,
        "life_events": ["housing"] if "公积金" in name or "不动产" in name else (["newborn"] if "出生" in name or "新生儿" in name else []),
        "channels": ["wechat", "alipay", "app", "pc"] if i % 7 else ["app", "pc"],
        "cross_province": i % 11 == 0, "online_depth": 1 + i % 4, "promised_limit_days": 5, "legal_limit_days": 20,
        "materials": [{"name": "居民身份证", "license_type": "resident_id_card"}],
        "form_schema": {"type": "object", "properties": {"reason": {"type": "string"}}},
        **extra,
    }


def sample_records() -> list[dict]:
    """Every name in several regions: 34 names x 8 regions = 272 matters."""
    out = []
    for r, region in enumerate(REGIONS):
        for n, name in enumerate(NAMES):
            out.append(record(r * len(NAMES) + n, name, region))
    return out
