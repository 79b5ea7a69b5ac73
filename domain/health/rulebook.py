"""Regions' published rules (健康码规则): versioned CertLogic with validity windows.

Checkpoint rules (acceptance, colour-mapping) must start at least the lead time after they are
published (the EU gateway's rule: every verifier must hold a rule before it applies); making rules
(colour) apply at the hub and may start at once. A published version is never edited: a change is a
new version, and withdrawing one marks it so in the list (verifiers stop using it).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.health import feeds, rules
from domain.health.errors import RuleInvalid, RuleStartsTooSoon, RuleVersionExists
from domain.health.models import HealthRule
from domain.shared.clock import Clock
from domain.shared.errors import NotFound


@dataclass(frozen=True)
class RuleDraft:
    identifier: str
    version: int
    type: str
    logic: Any
    description: list[dict[str, str]]
    valid_from: datetime
    valid_until: datetime
    affected_fields: list[str]
    certificate_type: str = rules.HEALTH_CODE


def rule_entry(rule: HealthRule) -> dict[str, Any]:
    """A rule version as the rules list carries it (docs/health-codes.md)."""
    return {"identifier": rule.identifier, "region": rule.region, "type": rule.type, "version": rule.version,
            "certificate_type": rule.certificate_type, "engine": "CertLogic", "engine_version": "1.0.0",
            "logic": rule.logic, "description": rule.description, "affected_fields": rule.affected_fields,
            "valid_from": rules.utc_text(rule.valid_from), "valid_until": rules.utc_text(rule.valid_until),
            "published_at": rules.utc_text(rule.published_at), "status": rule.status, "seq": rule.seq}


class Rulebook:
    def __init__(self, *, clock: Clock, lead: timedelta) -> None:
        self._clock, self.lead = clock, lead

    async def publish(self, *, region: str, draft: RuleDraft) -> dict[str, Any]:
        now = self._clock.now()
        problems = rules.rule_problems(identifier=draft.identifier, region=region, rule_type=draft.type,
                                       certificate_type=draft.certificate_type, valid_from=draft.valid_from,
                                       valid_until=draft.valid_until, description=draft.description)
        problems += [{"field": "logic", "message": p} for p in rules.logic_problems(draft.logic)]
        if problems:
            raise RuleInvalid("规则有误，未发布", errors=problems)
        if rules.starts_too_soon(rule_type=draft.type, valid_from=draft.valid_from, published_at=now, lead=self.lead):
            earliest = now + self.lead if draft.type in rules.CHECKPOINT_TYPES else now
            raise RuleStartsTooSoon(f"核验规则须在发布 {self.lead.total_seconds() / 3600:g} 小时后生效",
                                    earliest_valid_from=rules.utc_text(earliest))
        async with in_transaction():
            previous = await HealthRule.filter(identifier=draft.identifier).order_by("-version").first()
            if previous is not None and (previous.region != region or previous.type != draft.type):
                raise RuleInvalid("同一规则编号的类型和地区不可改变",
                                  errors=[{"field": "identifier", "message": "已用于另一类规则"}])
            if previous is not None and draft.version <= previous.version:
                raise RuleVersionExists(f"规则 {draft.identifier} 已有版本 {previous.version}，新版本号须更大")
            try:
                rule = await HealthRule.create(
                    identifier=draft.identifier, version=draft.version, region=region, type=draft.type,
                    certificate_type=draft.certificate_type, logic=draft.logic, description=draft.description,
                    affected_fields=draft.affected_fields, valid_from=draft.valid_from,
                    valid_until=draft.valid_until, published_at=now, status="active",
                    seq=await feeds.next_seq(feeds.RULES, now), changed_at=now)
            except IntegrityError:
                raise RuleVersionExists(f"规则 {draft.identifier} 版本 {draft.version} 已发布") from None
        return rule_entry(rule)

    async def withdraw(self, *, region: str, identifier: str, version: int) -> dict[str, Any]:
        now = self._clock.now()
        async with in_transaction():
            rule = await HealthRule.filter(identifier=identifier, version=version, region=region) \
                .select_for_update().first()
            if rule is None:
                raise NotFound(f"本地区没有规则 {identifier} 版本 {version}")
            if rule.status != "withdrawn":
                rule.status, rule.changed_at = "withdrawn", now
                rule.seq = await feeds.next_seq(feeds.RULES, now)
                await rule.save(update_fields=["status", "changed_at", "seq"])
        return rule_entry(rule)

    async def of_region(self, region: str) -> list[dict[str, Any]]:
        return [rule_entry(r) for r in await HealthRule.filter(region=region).order_by("identifier", "version")]

    async def making_rules(self, region: str, at: datetime) -> list[rules.RuleVersion]:
        rows = await HealthRule.filter(region=region, type="colour")
        return rules.in_force([_version(r) for r in rows], at)


def _version(rule: HealthRule) -> rules.RuleVersion:
    zh = next((d.get("desc", "") for d in rule.description if d.get("lang") == "zh"), rule.identifier)
    return rules.RuleVersion(identifier=rule.identifier, version=rule.version, type=rule.type, logic=rule.logic,
                             description=zh, valid_from=rule.valid_from, valid_until=rule.valid_until,
                             active=rule.status == "active")
