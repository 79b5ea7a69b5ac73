"""Health codes end to end inside the hub, on both backends: a Zhejiang code made by Zhejiang's
rules from the pooled records, signed by Zhejiang's key, verified offline under Beijing's rules by a
verifier holding only what the hub published; rules that map a colour and ask for a recent test; the
rule lead time; key rotation; revocation; expiry."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.health.errors import (
    DeclarationRequired,
    IssuerOnly,
    RulesMissing,
    RuleStartsTooSoon,
)
from domain.health.records import Trip
from domain.health.service import Declaration, PushedRecord
from domain.shared.clock import FrozenClock
from tests.support.citizens import ALICE, BOB
from tests.support.health import (
    BJ,
    BJ_NODE,
    BJ_PSB,
    RECENT_TEST,
    RISK_AREA,
    ZJ,
    ZJ_NODE,
    ZJ_YELLOW_IS_RED,
    People,
    health_service,
    making_rules,
    offline_verifier,
    rule,
)

NOW = datetime(2026, 12, 6, 8, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture
async def health(resources, clock):
    service = health_service(resources, clock, People(alice=ALICE, bob=BOB))
    await service.delegate_key(ZJ_NODE, alg="ES256", credential_types=["health_code"], valid_days=30)
    await service.delegate_key(BJ_NODE, alg="PS256", credential_types=["health_code"], valid_days=30)
    await making_rules(service, ZJ_NODE, NOW)
    await making_rules(service, BJ_NODE, NOW)
    return service


async def declare(health, person: str = "alice", trips=(), symptoms=()):
    return await health.declare(person_id=person, declaration=Declaration(region=ZJ, trips=tuple(trips),
                                                                          symptoms=tuple(symptoms)))


async def test_a_zhejiang_code_verifies_offline_at_a_beijing_checkpoint(health, resources, clock):
    await declare(health)
    code = await health.make_code(person_id="alice", region="330106")
    assert (code.region, code.colour, code.reasons) == (ZJ, "green", ())
    assert code.credential.startswith("HC1:") and ALICE["id_number"] not in code.credential
    clock.advance(3600)
    verifier = await offline_verifier(health, resources)
    decision = verifier.verify(code.credential, checkpoint_region=BJ, at=clock.now())
    assert (decision.result, decision.code, decision.issuer_region, decision.masked_name) == \
        ("accepted", "ok", ZJ, "张*"), decision


async def test_the_regions_rules_make_the_colour_from_the_pooled_records(health, clock):
    await declare(health, trips=[Trip(region=RISK_AREA, arrived=NOW.date() - timedelta(days=3),
                                      left=NOW.date() - timedelta(days=2))])
    yellow = await health.make_code(person_id="alice", region=ZJ)
    assert (yellow.colour, yellow.reasons) == ("yellow", ("14天内到过中高风险地区",))
    outcome = await health.push_records(ZJ_NODE, [PushedRecord(record_id="T-1", id_number=ALICE["id_number"],
                                                               kind="test", occurred_at=NOW - HOUR,
                                                               result="positive")])
    assert outcome["codes_revoked"] == 1  # the yellow code, taken back at once
    red = await health.make_code(person_id="alice", region=ZJ)
    assert (red.colour, red.reasons) == ("red", ("14天内核酸阳性",))
    [current] = await health.my_codes(person_id="alice")
    assert current.credential_id == red.credential_id


async def test_beijing_maps_a_zhejiang_yellow_to_red_and_asks_visitors_for_a_recent_test(health, resources, clock):
    start = NOW + timedelta(hours=48)
    await health.publish_rule(BJ_NODE, rule("CM-110000-0001", "colour-mapping", ZJ_YELLOW_IS_RED, "浙江黄码按红码", start))
    await health.publish_rule(BJ_NODE, rule("AR-110000-0001", "acceptance", RECENT_TEST, "外地来京须持48小时核酸", start))
    await health.push_records(ZJ_NODE, [PushedRecord(record_id="T-2", id_number=BOB["id_number"], kind="test",
                                                     occurred_at=NOW - HOUR, result="negative")])
    await declare(health, "bob")
    green = await health.make_code(person_id="bob", region=ZJ)
    await declare(health, "alice", symptoms=["fever"])
    yellow = await health.make_code(person_id="alice", region=ZJ)
    verifier = await offline_verifier(health, resources)
    before = verifier.verify(green.credential, checkpoint_region=BJ, at=NOW + HOUR)
    assert before.result == "accepted"  # the rules are not in force yet
    at = start + HOUR  # both rules in force
    assert verifier.verify(green.credential, checkpoint_region=BJ, at=NOW + 20 * HOUR).result == "accepted"
    assert verifier.verify(yellow.credential, checkpoint_region=ZJ, at=NOW + HOUR).code == "colour_not_green"
    mapped = verifier.verify(yellow.credential, checkpoint_region=BJ, at=NOW + 20 * HOUR)
    assert (mapped.issued_colour, mapped.colour) == ("yellow", "yellow")  # not yet in force
    clock.advance(48 * 3600 + 60)
    fresh = await health.make_code(person_id="alice", region=ZJ)
    verifier = await offline_verifier(health, resources)
    mapped = verifier.verify(fresh.credential, checkpoint_region=BJ, at=at)
    assert (mapped.result, mapped.issued_colour, mapped.colour) == ("refused", "yellow", "red"), mapped
    stale = await health.make_code(person_id="bob", region=ZJ)  # green, but its test is 49 hours old
    refused = verifier.verify(stale.credential, checkpoint_region=BJ, at=clock.now())
    assert (refused.result, refused.code, refused.colour) == ("refused", "rule_failed", "green")
    assert "外地来京须持48小时核酸" in str(refused.rules)
    await health.push_records(ZJ_NODE, [PushedRecord(record_id="T-3", id_number=BOB["id_number"], kind="test",
                                                     occurred_at=clock.now() - HOUR, result="negative")])
    tested = await health.make_code(person_id="bob", region=ZJ)
    assert verifier.verify(tested.credential, checkpoint_region=BJ, at=clock.now()).result == "accepted"
    untested = await health.make_code(person_id="alice", region=BJ)  # a Beijing code: Beijing asks no test
    assert untested.colour == "yellow"


async def test_a_checkpoint_rule_may_not_start_before_it_is_distributed(health):
    too_soon = rule("AR-110000-0002", "acceptance", True, "提前生效", NOW + timedelta(hours=47))
    with pytest.raises(RuleStartsTooSoon) as refused:
        await health.publish_rule(BJ_NODE, too_soon)
    assert refused.value.extra["earliest_valid_from"] == "2026-12-08T08:00:00Z"
    await health.publish_rule(BJ_NODE, rule("CR-110000-0009", "colour", {"if": [False, "red", None]}, "赋码规则可立即生效", NOW))


async def test_a_rotated_key_keeps_its_codes_valid_until_its_end(health, resources, clock):
    await declare(health)
    old = await health.make_code(person_id="alice", region=ZJ)
    clock.advance(3600)
    newer = await health.delegate_key(ZJ_NODE, alg="ES256", credential_types=["health_code"], valid_days=365)
    new = await health.make_code(person_id="alice", region=ZJ)
    assert new.kid == newer.kid != old.kid
    verifier = await offline_verifier(health, resources)
    assert verifier.verify(old.credential, checkpoint_region=ZJ, at=clock.now()).result == "accepted"
    assert verifier.verify(new.credential, checkpoint_region=ZJ, at=clock.now()).result == "accepted"
    end = NOW + timedelta(days=30, seconds=1)  # the first key's end
    assert verifier.verify(old.credential, checkpoint_region=ZJ, at=end).result == "invalid"


async def test_revocation_and_expiry(health, resources, clock):
    await declare(health)
    code = await health.make_code(person_id="alice", region=ZJ)
    outcome = await health.revoke_codes(ZJ_NODE, credential_ids=[code.credential_id])
    assert (outcome["revoked"], outcome["already_revoked"]) == (1, 0)
    verifier = await offline_verifier(health, resources)
    revoked = verifier.verify(code.credential, checkpoint_region=BJ, at=clock.now())
    assert (revoked.result, revoked.code) == ("invalid", "revoked")
    again = await health.make_code(person_id="alice", region=ZJ)
    expired = verifier.verify(again.credential, checkpoint_region=BJ, at=NOW + timedelta(hours=24, seconds=1))
    assert (expired.result, expired.code) == ("invalid", "expired")
    with pytest.raises(Exception) as foreign:
        await health.revoke_codes(BJ_NODE, credential_ids=[again.credential_id])
    assert foreign.value.code == "health_revocation_invalid"


async def test_only_a_regions_platform_acts_for_it_and_a_code_needs_a_declaration_and_rules(health, resources, clock):
    with pytest.raises(IssuerOnly):
        await health.delegate_key(BJ_PSB, alg="ES256", credential_types=["health_code"], valid_days=30)
    with pytest.raises(DeclarationRequired):
        await health.make_code(person_id="alice", region=ZJ)
    await declare(health)
    with pytest.raises(RulesMissing):
        await health.make_code(person_id="alice", region="310000")


async def test_the_lists_are_deltas_and_pages_in_seq_order(health, resources):
    from domain.health.service import FeedAsk

    full = await health.list_page("trust-list", FeedAsk())
    assert [e["region"] for e in full["payload"]["entries"]] == [ZJ, BJ]
    newest = full["payload"]["seq"]
    await health.delegate_key(ZJ_NODE, alg="ES256", credential_types=["health_code"], valid_days=60)
    delta = await health.list_page("trust-list", FeedAsk(since=newest))
    assert [e["seq"] for e in delta["payload"]["entries"]] == [newest + 1]
    rules_page = await health.list_page("rules", FeedAsk(limit=2))
    assert rules_page["payload"]["more"] and rules_page["payload"]["next_since"] == 2


async def test_at_once_the_same_push_stores_each_record_once_and_two_makes_leave_one_current_code(health):
    import asyncio

    from domain.health.models import HealthCode, HealthRecord

    records = [PushedRecord(record_id=f"T-{n}", id_number=ALICE["id_number"], kind="test", result="negative",
                            occurred_at=NOW - HOUR) for n in range(5)]
    outcomes = await asyncio.gather(*(health.push_records(ZJ_NODE, records) for _ in range(3)))
    assert sum(o["added"] for o in outcomes) == 5 and await HealthRecord.filter(kind="test").count() == 5
    await declare(health)
    made = await asyncio.gather(*(health.make_code(person_id="alice", region=ZJ) for _ in range(5)))
    assert len({code.credential_id for code in made}) == 5
    assert await HealthCode.filter(current_key__not_isnull=True).count() == 1


async def test_a_batch_whose_codes_all_expired_is_dropped_from_the_list(health, resources, clock):
    from domain.health.service import FeedAsk

    await declare(health)
    code = await health.make_code(person_id="alice", region=ZJ)
    await health.revoke_codes(ZJ_NODE, credential_ids=[code.credential_id])
    held = (await health.list_page("revocations", FeedAsk()))["payload"]
    assert await health.housekeeping() == {"revocation_batches_dropped": 0}  # its code still lives
    clock.advance(24 * 3600 + 1)
    assert await health.housekeeping() == {"revocation_batches_dropped": 1}
    delta = (await health.list_page("revocations", FeedAsk(since=held["seq"])))["payload"]["entries"]
    assert [(b["deleted"], b["hashes"]) for b in delta] == [(True, [])]
