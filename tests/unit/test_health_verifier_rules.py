"""The checkpoint rules in the stand-alone health verifier (verifier/health.py, docs/health-codes.md
"Rule entries"): colour mapping, acceptance, the version in force at a moment, and rules that fail
(raise, give a non-boolean, an unknown colour) counting as failed, never as passed."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.health_verifier_world import BJ, NOW, ZJ, Anchor, Signer, hand_made, health_pass, iso, rule
from verifier.health import RULES

LATER = NOW + timedelta(hours=1)
RECENT_TEST = {"not-before": [{"plusTime": [{"var": "payload.lt"}, 48, "hour"]}, {"var": "external.validationClock"}]}
FROM_ZJ = {"===": [{"var": "external.issuerRegion"}, ZJ]}
YELLOW = {"===": [{"var": "payload.col"}, "yellow"]}


def _map(colour):
    """A colour-mapping rule's logic: a yellow code from Zhejiang counts as ``colour``, else no opinion."""
    return {"if": [{"and": [FROM_ZJ, YELLOW]}, colour, None]}


@pytest.fixture(scope="module")
def world():
    anchor, signer = Anchor(), Signer("ES256")
    return anchor, signer


def _verifier(world, *rules):
    anchor, signer = world
    return anchor.verifier([signer.entry(ZJ)], rules=list(rules))


def _code(world, **changes):
    return hand_made(world[1], health_pass(ZJ, **changes))


def test_a_zhejiang_code_under_beijings_rules_and_under_its_own(world):
    verifier = _verifier(world, rule("CM-110000-0001", _map("red"), region=BJ, kind="colour-mapping"),
                         rule("CM-330000-0001", _map("green"), region=ZJ, kind="colour-mapping"))
    yellow = _code(world, colour="yellow")
    in_beijing = verifier.verify(yellow, checkpoint_region=BJ, at=LATER)
    assert (in_beijing.result, in_beijing.code, in_beijing.issued_colour, in_beijing.colour) == \
        ("refused", "colour_not_green", "yellow", "red")
    assert in_beijing.rules == [{"identifier": "CM-110000-0001", "version": 1, "type": "colour-mapping",
                                 "colour": "red", "description": "规则 CM-110000-0001 / rule CM-110000-0001"}]
    in_zhejiang = verifier.verify(yellow, checkpoint_region=ZJ, at=LATER)
    assert (in_zhejiang.result, in_zhejiang.colour) == ("accepted", "green")
    # a green code: both mappings have no opinion, the issued colour stands
    assert verifier.verify(_code(world), checkpoint_region=BJ, at=LATER).result == "accepted"
    # a checkpoint of a third region, without rules: the issued colour
    assert verifier.verify(yellow, checkpoint_region="440000", at=LATER).colour == "yellow"


def test_the_first_mapping_giving_a_colour_decides_in_identifier_order(world):
    verifier = _verifier(world, rule("CM-110000-0003", _map("red"), kind="colour-mapping"),
                         rule("CM-110000-0002", _map("green"), kind="colour-mapping"),
                         rule("CM-110000-0001", None, kind="colour-mapping"))
    decision = verifier.verify(_code(world, colour="yellow"), checkpoint_region=BJ, at=LATER)
    assert (decision.result, decision.colour) == ("accepted", "green")
    assert [(each["identifier"], each["colour"]) for each in decision.rules] == \
        [("CM-110000-0001", None), ("CM-110000-0002", "green")]


def test_a_recent_negative_test(world):
    verifier = _verifier(world, rule("AR-110000-0001", RECENT_TEST))
    fresh = _code(world, lt=iso(NOW - timedelta(hours=40)))
    decision = verifier.verify(fresh, checkpoint_region=BJ, at=LATER)
    assert (decision.result, decision.rules[0]["passed"]) == ("accepted", True)
    assert verifier.verify(fresh, checkpoint_region=ZJ, at=LATER).rules == []  # Beijing's rule, not Zhejiang's
    too_old = verifier.verify(fresh, checkpoint_region=BJ, at=NOW + timedelta(hours=9))  # 49 h after the test
    assert (too_old.result, too_old.code, too_old.rules[0]["passed"]) == ("refused", "rule_failed", False)
    assert "AR-110000-0001 v1" in too_old.reason and too_old.reason.startswith("未通过")
    missing = verifier.verify(_code(world), checkpoint_region=BJ, at=LATER)
    assert (missing.result, missing.code, missing.rules[0]["passed"]) == ("refused", "rule_failed", False)
    assert "could not be evaluated" in missing.rules[0]["error"]


def test_every_acceptance_rule_must_pass_and_the_colour_be_green(world):
    from_zj = rule("AR-110000-0002", FROM_ZJ)
    verifier = _verifier(world, rule("AR-110000-0001", RECENT_TEST), from_zj)
    passing = _code(world, lt=iso(NOW))
    assert verifier.verify(passing, checkpoint_region=BJ, at=LATER).result == "accepted"
    red = verifier.verify(_code(world, colour="red", lt=iso(NOW)), checkpoint_region=BJ, at=LATER)
    assert (red.result, red.code) == ("refused", "colour_not_green")
    only_zj = _verifier(world, rule("AR-110000-0002", {"===": [{"var": "external.issuerRegion"}, "440000"]}))
    assert only_zj.verify(passing, checkpoint_region=BJ, at=LATER).code == "rule_failed"


def test_the_version_in_force_at_the_moment(world):
    starts = NOW + timedelta(days=2)
    v1 = rule("AR-110000-0001", True, valid_until=NOW + timedelta(days=30))
    v2 = rule("AR-110000-0001", RECENT_TEST, version=2, valid_from=starts)
    verifier = _verifier(world, v1, v2)
    hc1 = _code(world, hours=24 * 5)  # no test taken
    before = verifier.verify(hc1, checkpoint_region=BJ, at=starts - timedelta(seconds=1))
    assert (before.result, before.rules[0]["version"]) == ("accepted", 1)
    after = verifier.verify(hc1, checkpoint_region=BJ, at=starts)
    assert (after.result, after.rules[0]["version"]) == ("refused", 2)
    assert verifier.rules_in_force(BJ, starts)[0]["version"] == 2
    # withdrawn: the version before it is in force again
    anchor = world[0]
    withdrawn = {**v2, "status": "withdrawn"}
    verifier.load_rules(anchor.page(RULES, [withdrawn], since=verifier.held_seq[RULES]))
    assert verifier.verify(hc1, checkpoint_region=BJ, at=starts).result == "accepted"
    # after every version's valid_until: no rule at all
    assert verifier.rules_in_force(BJ, NOW + timedelta(days=31)) == []
    # a version not yet in force, alone
    assert _verifier(world, v2).rules_in_force(BJ, NOW) == []


@pytest.mark.parametrize("kind, logic, words", [
    ("acceptance", {"no-such-operation": [1]}, "could not be evaluated"),
    ("acceptance", "yes", "not true or false"),
    ("acceptance", {"var": "payload.col"}, "not true or false"),
    ("acceptance", 1, "not true or false"),
    ("colour-mapping", "blue", "not a colour"),
    ("colour-mapping", True, "not a colour"),
    ("colour-mapping", {"plusTime": [{"var": "payload.nothing"}, 1, "day"]}, "could not be evaluated"),
])
def test_a_rule_that_fails_to_answer_counts_as_failed(world, kind, logic, words):
    verifier = _verifier(world, rule("XR-110000-0001", logic, kind=kind))
    decision = verifier.verify(_code(world), checkpoint_region=BJ, at=LATER)
    assert (decision.result, decision.code) == ("refused", "rule_failed"), decision
    assert words in decision.rules[0]["error"] and decision.rules[0].get("passed") is not True


def test_another_engine_fails_and_making_rules_are_ignored(world):
    other_engine = _verifier(world, rule("AR-110000-0001", True, engine="AnotherLogic"))
    assert other_engine.verify(_code(world), checkpoint_region=BJ, at=LATER).code == "rule_failed"
    making = _verifier(world, rule("CR-110000-0001", {"no-such-operation": []}, kind="colour"),
                       rule("CR-110000-0002", "red", kind="colour"))
    decision = making.verify(_code(world), checkpoint_region=BJ, at=LATER)
    assert (decision.result, decision.rules) == ("accepted", [])
    other_type = _verifier(world, rule("AR-110000-0001", False, certificate_type="vaccination_record"))
    assert other_type.verify(_code(world), checkpoint_region=BJ, at=LATER).result == "accepted"


def test_what_a_rule_reads(world):
    sees = {"and": [{"===": [{"var": "external.checkpointRegion"}, BJ]}, {"===": [{"var": "external.issuerRegion"}, ZJ]},
                    {"===": [{"var": "external.validationClock"}, iso(LATER)]}, {"===": [{"var": "payload.reg"}, ZJ]},
                    {"===": [{"var": "payload.t"}, "health_code"]}]}
    verifier = _verifier(world, rule("AR-110000-0001", sees))
    assert verifier.verify(_code(world), checkpoint_region=BJ, at=LATER).result == "accepted"
    assert verifier.verify(_code(world), checkpoint_region=BJ, at=NOW + timedelta(hours=2)).code == "rule_failed"


@pytest.mark.parametrize("description", [5, True, "规则", {"lang": "zh"}, [{"lang": ["zh"], "desc": "x"}], [5]])
def test_a_rule_with_a_description_it_cannot_read_is_described_by_its_identifier(world, description):
    passing = _verifier(world, rule("AR-110000-0001", True, description=description))
    decision = passing.verify(_code(world), checkpoint_region=BJ, at=LATER)
    assert (decision.result, decision.rules) == ("accepted", [{"identifier": "AR-110000-0001", "version": 1,
                                                               "type": "acceptance", "passed": True,
                                                               "description": "AR-110000-0001"}])
    refusing = _verifier(world, rule("AR-110000-0001", False, description=description))
    assert refusing.verify(_code(world), checkpoint_region=BJ, at=LATER).code == "rule_failed"
