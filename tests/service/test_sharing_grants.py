"""Grants of data sharing against the database: the catalog a grant rests on, each step and who
may take it, narrowing, the audit trail, and what lapses and expires (domain/sharing/grants.py)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.audit.service import AuditFilters, AuditLog
from domain.shared.clock import FrozenClock
from domain.sharing import rules
from domain.sharing.catalog import ServiceCatalog
from domain.sharing.errors import (
    GrantInvalid,
    GrantPartyOnly,
    GrantStepNotAllowed,
    ServiceInvalid,
    ServiceNotFound,
)
from domain.sharing.grants import Approval, GrantRequest, Grants, Party
from tests.support.sharing import HOUSEHOLD, later

pytestmark = pytest.mark.usefixtures("resources")
PSB, COURT, OTHER = Party(node="bj-psb"), Party(node="bj-court"), Party(node="sh-tax")
OPERATOR = Party(operator="ops")


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))


@pytest.fixture
async def grants(clock) -> Grants:
    catalog = ServiceCatalog(clock=clock)
    await catalog.publish(provider="bj-psb", description=HOUSEHOLD)
    return Grants(clock=clock, catalog=catalog)


def ask(**extra) -> GrantRequest:
    return GrantRequest(**{"provider": "bj-psb", "service_code": "household-register-extract",
                           "fields": ("name", "household_address"), "purpose": "审理离婚诉讼案件核实当事人户籍",
                           "legal_basis": "《中华人民共和国民事诉讼法》第六十七条", "expected_daily_calls": 200, **extra})


async def test_a_grant_is_asked_approved_narrowed_suspended_resumed_and_revoked(grants):
    asked = await grants.request(consumer="bj-court", asked=ask())
    assert (asked.status, asked.fields_granted) == (rules.REQUESTED, None)
    approved = await grants.approve(party=PSB, grant_id=asked.id,
                                    approval=Approval(fields=("name",), quota_per_minute=30, valid_days=90))
    assert (approved.status, approved.fields_granted, approved.quota_per_minute) == (rules.APPROVED, ("name",), 30)
    assert await grants.usable(consumer="bj-court", provider="bj-psb", service_code=asked.service_code)
    await grants.suspend(party=PSB, grant_id=asked.id, reason="核查异常调用")
    assert await grants.usable(consumer="bj-court", provider="bj-psb", service_code=asked.service_code) is None
    await grants.resume(party=PSB, grant_id=asked.id)
    revoked = await grants.revoke(party=COURT, grant_id=asked.id, reason="案件已审结")
    assert revoked.status == rules.REVOKED
    assert await grants.usable(consumer="bj-court", provider="bj-psb", service_code=asked.service_code) is None
    steps = [e.action for e in (await AuditLog.list(AuditFilters(target_id=asked.id))).entries]
    assert steps == ["sharing.grant.revoke", "sharing.grant.resume", "sharing.grant.suspend",
                     "sharing.grant.approve", "sharing.grant.request"]


async def test_only_the_provider_decides_and_strangers_see_nothing(grants):
    asked = await grants.request(consumer="bj-court", asked=ask())
    with pytest.raises(GrantStepNotAllowed):  # the consumer cannot approve its own request
        await grants.approve(party=COURT, grant_id=asked.id, approval=Approval())
    with pytest.raises(GrantStepNotAllowed):  # nor an operator a department's service
        await grants.approve(party=OPERATOR, grant_id=asked.id, approval=Approval())
    with pytest.raises(GrantPartyOnly):
        await grants.get(party=OTHER, grant_id=asked.id)
    with pytest.raises(GrantPartyOnly):
        await grants.revoke(party=OTHER, grant_id=asked.id, reason="不是我的")
    assert (await grants.get(party=OPERATOR, grant_id=asked.id)).status == rules.REQUESTED


async def test_an_operator_may_stop_any_grant_but_never_grant_one(grants):
    asked = await grants.request(consumer="bj-court", asked=ask())
    await grants.approve(party=PSB, grant_id=asked.id, approval=Approval())
    assert (await grants.suspend(party=OPERATOR, grant_id=asked.id, reason="安全事件")).status == rules.SUSPENDED
    with pytest.raises(GrantStepNotAllowed):
        await grants.resume(party=OPERATOR, grant_id=asked.id)


async def test_the_hubs_own_service_is_decided_by_operators(grants):
    asked = await grants.request(consumer="bj-court", asked=ask(
        provider=rules.HUB_PROVIDER, service_code=rules.IDENTITY_SERVICE, fields=("result",)))
    approved = await grants.approve(party=OPERATOR, grant_id=asked.id, approval=Approval(quota_per_minute=10))
    assert approved.status == rules.APPROVED


@pytest.mark.parametrize("change, field", [
    ({"fields": ("name", "blood_type")}, "fields"), ({"fields": ()}, "fields"), ({"purpose": "查"}, "purpose"),
    ({"expected_daily_calls": 0}, "expected_daily_calls"), ({"investigative": True}, "embargo_days"),
    ({"operations": (rules.Operation("DELETE", "/extract"),)}, "operations")])
async def test_a_request_that_does_not_fit_the_service_is_refused_and_nothing_is_stored(grants, change, field):
    with pytest.raises(GrantInvalid) as refused:
        await grants.request(consumer="bj-court", asked=ask(**change))
    assert field in {e["field"] for e in refused.value.extra["errors"]}
    assert await grants.list() == []


async def test_a_node_cannot_ask_for_its_own_service_nor_a_missing_one(grants):
    with pytest.raises(GrantInvalid):
        await grants.request(consumer="bj-psb", asked=ask())
    with pytest.raises(ServiceNotFound):
        await grants.request(consumer="bj-court", asked=ask(service_code="no-such-service"))


async def test_approving_a_field_never_asked_for_is_refused(grants):
    asked = await grants.request(consumer="bj-court", asked=ask())
    with pytest.raises(GrantInvalid):
        await grants.approve(party=PSB, grant_id=asked.id, approval=Approval(fields=("sex",)))
    assert (await grants.get(party=PSB, grant_id=asked.id)).status == rules.REQUESTED


async def test_undecided_requests_lapse_and_grants_expire(grants, clock):
    lapsing = await grants.request(consumer="bj-court", asked=ask())
    expiring = await grants.request(consumer="sh-tax", asked=ask())
    await grants.approve(party=PSB, grant_id=expiring.id, approval=Approval(valid_days=10))
    later(clock, days=10)
    assert await grants.housekeeping() == {"lapsed": 0, "expired": 1}
    later(clock, days=5)
    assert await grants.housekeeping() == {"lapsed": 1, "expired": 0}
    assert (await grants.get(party=PSB, grant_id=lapsing.id)).status == rules.LAPSED
    assert (await grants.get(party=PSB, grant_id=expiring.id)).status == rules.EXPIRED


async def test_a_new_version_supersedes_and_a_retired_service_stops_after_its_notice(clock):
    catalog = ServiceCatalog(clock=clock)
    first = await catalog.publish(provider="bj-psb", description=HOUSEHOLD)
    second = await catalog.publish(provider="bj-psb", description=HOUSEHOLD)
    assert (first.version, second.version) == (1, 2)
    assert [s.version for s in await catalog.list(provider="bj-psb")] == [2]
    await catalog.retire(provider="bj-psb", code=HOUSEHOLD["code"], notice_days=30)
    assert await catalog.serving_terms("bj-psb", HOUSEHOLD["code"]) is not None
    later(clock, days=31)
    catalog.forget()
    assert await catalog.serving_terms("bj-psb", HOUSEHOLD["code"]) is None


async def test_a_service_description_is_checked_field_by_field(clock):
    bad = {**HOUSEHOLD, "fields": [{"name": "Name", "classification": "secret", "source": ""}],
           "operations": [{"method": "FETCH", "path": "extract"}]}
    with pytest.raises(ServiceInvalid) as refused:
        await ServiceCatalog(clock=clock).publish(provider="bj-psb", description=bad)
    assert {"fields[0].name", "fields[0].classification", "fields[0].source", "operations[0].method"} <= {
        e["field"] for e in refused.value.extra["errors"]}
