"""The withdrawal matters (事项) a fund centre offers, one per kind, as catalog records.

A withdrawal is an application (办件) of the applications module, so each centre offers one matter
per kind in the catalog: code ``<region6>-HF-<KIND>``, department code = the centre's node code
(``330100-housing_fund``), so routing hands it to the centre, and ``entry`` = ``housing_fund``, so
only ``HousingFundService`` submits it (every generic route refuses it). Their materials and form
come from ``rules.py``: the form carries the withdrawal as the centre needs it, and the payout
instruction the hub signed (``instructions.py``).
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.housing_fund import rules


@dataclass(frozen=True)
class Centre:
    code: str  # node code = department code: <region6>-housing_fund
    name: str
    region_code: str


# The demo centres `govhub seed` registers (keys in devkeys/, played by the department stub):
# Beijing for alice, Hangzhou and Hefei for bob, who moved from Anhui to Zhejiang.
DEMO_CENTRES = (
    Centre("110000-housing_fund", "北京住房公积金管理中心", "110000000000"),
    Centre("330100-housing_fund", "杭州住房公积金管理中心", "330100000000"),
    Centre("340100-housing_fund", "合肥住房公积金管理中心", "340100000000"),
)

PAYOUT_ENVELOPE = ("scheme", "type", "signer", "key_id", "statement", "signature")  # statements.FIELDS
FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "withdrawal_id": {"type": "string", "title": "提取申请编号"},
        "kind": {"type": "string", "enum": list(rules.KINDS), "title": "提取类型"},
        "account_no": {"type": "string", "title": "公积金账号"},
        "amount_fen": {"type": "integer", "minimum": rules.MIN_AMOUNT_FEN, "maximum": rules.MAX_FIGURE_FEN,
                       "title": "提取金额（分）"},
        # a statement the hub signs (the envelope of domain/nodes/statements.py); what it vouches
        # for: instructions.py
        "payout": {"type": "object", "title": "支付指令（平台签名）",
                   "properties": {name: {"type": "string"} for name in PAYOUT_ENVELOPE},
                   "required": list(PAYOUT_ENVELOPE), "additionalProperties": False},
        "rule_clear": {"type": "boolean", "title": "规则校验全部通过且无需人工审核"},
        "checks": {"type": "array", "title": "规则校验结果"},
        "details": {"type": "object", "title": "申请人填写的情况"},
    },
    "required": ["withdrawal_id", "kind", "account_no", "amount_fen", "payout", "rule_clear"],
}


def matter_code(centre: Centre | str, kind: str) -> str:
    region = centre.region_code if isinstance(centre, Centre) else centre
    return f"{region[:6]}-{rules.CATALOG_CODES[kind]}"


def matter_records(centres: tuple[Centre, ...] | list[Centre]) -> list[dict]:
    return [_record(centre, kind) for centre in centres for kind in rules.KINDS]


def _record(centre: Centre, kind: str) -> dict:
    life_events = {rules.RETIREMENT: ["retirement"], rules.LEAVING: ["employment"], rules.ILLNESS: ["medical"]}
    return {
        "code": matter_code(centre, kind), "catalog_code": rules.CATALOG_CODES[kind],
        "name": f"住房公积金{rules.KIND_NAMES[kind]}（刷脸办）", "kind": "administrative_payment",
        "region_code": centre.region_code, "department_code": centre.code, "for_individuals": True,
        "for_legal_persons": False, "life_events": life_events.get(kind, ["housing"]), "themes": ["housing_fund"],
        "materials": [{"name": n, "license_type": t, "required": False} for n, t, _ in rules.MATERIALS[kind]],
        "legal_limit_days": 3, "promised_limit_days": 0, "fee_fen": 0, "online_depth": 4,
        "channels": ["wechat", "alipay", "app"], "cross_province": False, "zones": [],
        "instant_approval": False, "form_schema": FORM_SCHEMA,  # the centre decides, not the hub
        "entry": "housing_fund",  # only HousingFundService submits it: generic routes refuse it
    }


async def offer_withdrawals(catalog, centres=DEMO_CENTRES) -> dict:
    """Upsert the centres' withdrawal matters through the catalog's service (idempotent)."""
    report = await catalog.upsert(matter_records(list(centres)))
    return {"inserted": report.inserted, "updated": report.updated, "unchanged": report.unchanged,
            "rejected": len(report.rejected)}
