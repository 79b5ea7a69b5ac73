"""Demo issuers and rules for the embedded hub (``govhub seed``) and the tests: Zhejiang keeps its
own key (the department stub plays its signing service), Beijing delegated one to the hub; both make
codes by the same three rules; Beijing's checkpoints map a Zhejiang yellow to red and ask visitors
for a negative test of the last 48 hours — published to start after the lead time, as every
checkpoint rule must."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from domain.health.errors import KeyExists, RuleVersionExists
from domain.health.rulebook import RuleDraft

ZJ, BJ = "330000", "110000"
RISK_AREAS = ["420100"]  # Wuhan, in the demo a region with an outbreak
RULE_DAYS = 365

POSITIVE_RED = {"if": [{"var": "facts.positive_test_at"}, "red", None]}
RISK_TRIP_YELLOW = {"reduce": [{"var": "facts.trip_regions"},
                               {"if": [{"var": "accumulator"}, "yellow",
                                       {"if": [{"in": [{"var": "current"}, RISK_AREAS]}, "yellow", None]}]},
                               None]}
SYMPTOMS_YELLOW = {"if": [{"var": "facts.symptoms"}, "yellow", None]}
MAKING_RULES = ((POSITIVE_RED, "14天内核酸阳性"), (RISK_TRIP_YELLOW, "14天内到过中高风险地区"), (SYMPTOMS_YELLOW, "申报有症状"))
# Beijing's checkpoints: visitors need a negative test from the last 48 hours ...
RECENT_TEST = {"if": [{"===": [{"var": "external.issuerRegion"}, BJ]}, True,
                      {"if": [{"var": "payload.lt"},
                              {"not-before": [{"plusTime": [{"var": "payload.lt"}, 48, "hour"]},
                                              {"plusTime": [{"var": "external.validationClock"}, 0, "day"]}]},
                              False]}]}
# ... and take a Zhejiang yellow code as red
ZJ_YELLOW_IS_RED = {"if": [{"and": [{"===": [{"var": "external.issuerRegion"}, ZJ]},
                                    {"===": [{"var": "payload.col"}, "yellow"]}]}, "red", None]}


def rule(identifier: str, rule_type: str, logic: Any, desc: str, start: datetime, version: int = 1,
         days: int = RULE_DAYS) -> RuleDraft:
    return RuleDraft(identifier=identifier, version=version, type=rule_type, logic=logic,
                     description=[{"lang": "zh", "desc": desc}, {"lang": "en", "desc": desc}],
                     valid_from=start, valid_until=start + timedelta(days=days), affected_fields=["col"])


async def publish_making_rules(health, node, start: datetime) -> int:
    """The three making rules for ``node``'s region; those already published are left."""
    region, published = node.region_code[:6], 0
    for number, (logic, desc) in enumerate(MAKING_RULES, start=1):
        published += await _publish(health, node, rule(f"CR-{region}-{number:04d}", "colour", logic, desc, start))
    return published


async def seed_health(health, *, zhejiang, beijing, zhejiang_certificate: bytes, now: datetime) -> dict:
    """Idempotent: keys, making rules and Beijing's checkpoint rules, each only once."""
    keys = 0
    try:
        await health.register_key(zhejiang, certificate=zhejiang_certificate, credential_types=["health_code"])
        keys += 1
    except KeyExists:
        pass
    if not any(k.delegated and k.status == "active" for k in await health.keys(beijing)):
        await health.delegate_key(beijing, alg="ES256", credential_types=["health_code"], valid_days=RULE_DAYS)
        keys += 1
    rules = await publish_making_rules(health, zhejiang, now) + await publish_making_rules(health, beijing, now)
    start = now + health.rulebook.lead + timedelta(minutes=5)
    rules += await _publish(health, beijing, rule("CM-110000-0001", "colour-mapping", ZJ_YELLOW_IS_RED,
                                                  "浙江黄码在京按红码管理", start))
    rules += await _publish(health, beijing, rule("AR-110000-0001", "acceptance", RECENT_TEST,
                                                  "外地来京人员须持48小时内核酸阴性证明", start))
    return {"keys": keys, "rules": rules}


async def _publish(health, node, draft: RuleDraft) -> int:
    try:
        await health.publish_rule(node, draft)
    except RuleVersionExists:
        return 0
    return 1
