"""The instant-approval step (秒批) of sole-proprietor registration, plugged into
``ApplicationService(approval=...)``: gather the facts, let ``instant_approval.py`` judge, and when
every rule passed take the name, give the business its unified social credit code and issue its
business license into the applicant's e-license wallet — all inside the submitting transaction,
so an approval is either complete or not there at all. docs/instant-approval.md.

Nothing here approves silently: a fact that cannot be had (the credit system is down, the name is
"similar", the seal is missing) leaves a rule undecided, and the application goes to the
registering authority like any other, with the checks attached for the examiner.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from domain.applications import business_names
from domain.applications import instant_approval as rules
from domain.applications import rules as application_rules
from domain.applications.models import Application
from domain.applications.ports import ApprovalDecision, ApprovalRequest
from domain.identity.errors import AssuranceRequired
from domain.regions.errors import InvalidRegionCode, RegionNotFound
from domain.regions.rules import is_within
from domain.shared.clock import SHANGHAI, Clock
from domain.shared.errors import DomainError

log = logging.getLogger("govhub.applications.instant")

LICENSE_TYPE = "individual_business_license"  # 个体工商户营业执照 (domain/licenses/seed_data)
SEAL_KIND = "market_supervision"
CREDIT_TIMEOUT = 2.0  # seconds: a slow credit system must not hold the citizen's submission


class CreditRecords(Protocol):
    """The credit system (信用信息): stubbed offline by adapters/departments/credit_stub.py."""

    async def records_of(self, *, id_number: str, name: str) -> tuple[str, ...]:
        """The person's disqualifying records, by kind in Chinese (e.g. 失信被执行人); () when none.
        Raises ``UpstreamUnavailable`` when the system cannot answer: never "no record"."""


class SoleProprietorInstantApproval:
    """``domain.applications.ports.InstantApproval`` for catalog item NAT-0023."""

    def __init__(self, *, clock: Clock, identity, regions, seals, licenses, credit: CreditRecords,
                 credit_timeout: float = CREDIT_TIMEOUT) -> None:
        """``identity``, ``regions``, ``seals``, ``licenses``: those modules' services."""
        self.clock, self.identity, self.regions = clock, identity, regions
        self.seals, self.licenses, self.credit = seals, licenses, credit
        self.credit_timeout = credit_timeout

    async def decide(self, request: ApprovalRequest, *, connection: Any) -> ApprovalDecision | None:
        if request.catalog_code != rules.SOLE_PROPRIETOR_REGISTRATION or not request.matter_instant_approval:
            return None  # not this step's matter (or instant approval switched off for it)
        node_code = await _node_of(connection, request.number)
        person = await self._real_name(request.person_id)
        seal = await self._seal(node_code, request.region_code)
        facts, parsed = await self._facts(request, connection, person, seal)
        checks = rules.evaluate(facts)
        if not rules.approvable(checks):
            return _manual(checks)
        region6 = request.region_code[:6]
        name = request.form["business_name"].strip()
        held = await business_names.reserve(connection, region6=region6, name=name, parsed=parsed,
                                            number=request.number, now=request.submitted_at)
        if held is None:  # a concurrent application took the name between our lookup and now
            taken = rules.name_available(rules.NameRegistryFacts("taken", name))
            return _manual([taken if c.rule == taken.rule else c for c in checks])
        code = rules.credit_code(region6, held.id % rules.SERIAL_SPACE)
        try:
            license_id = await self._issue(node_code, code, name, request, person)
        except DomainError as error:  # e.g. the seal was revoked a moment ago: an examiner finishes it
            log.warning("instant approval of %s: license not issued (%s); manual review", request.number,
                        error.code)
            await business_names.release(connection, held)
            stuck = rules.license_issuable(None)
            return _manual([stuck if c.rule == stuck.rule else c for c in checks])
        await business_names.record_credit_code(connection, held, code)
        log.info("application %s approved instantly: %s", request.number, code)
        return ApprovalDecision(approved=True, checks=[c.as_dict() for c in checks],
                                results={"summary": rules.summary(checks), "credit_code": code,
                                         "license_id": license_id, "license_type": LICENSE_TYPE,
                                         "business_name": name})

    # --- facts --------------------------------------------------------------------------------

    async def _facts(self, request: ApprovalRequest, conn: BaseDBAsyncClient, person: dict | None,
                     seal) -> tuple[rules.ApprovalFacts, rules.ParsedName | None]:
        region_path = await self._region_path(request.region_code)
        parsed = rules.parse_name(request.form.get("business_name") or "", region_path,
                                  rules.scope_list().industry_terms())
        if isinstance(parsed, str):
            parsed, registry = None, rules.NameRegistryFacts("unchecked")
        else:
            registry = await business_names.lookup(conn, request.region_code[:6], parsed)
        facts = rules.ApprovalFacts(
            assurance=request.assurance, real_name=person["name"] if person else None, form=request.form,
            matter_region=request.region_code, region_path=region_path,
            address_region_known=await self._region_known(request.form.get("address_region_code")),
            credit=await self._credit(person), registry=registry, seal_name=seal.name if seal else None)
        return facts, parsed

    async def _real_name(self, person_id: str) -> dict | None:
        try:
            return await self.identity.reveal(person_id=person_id)
        except AssuranceRequired:
            return None

    async def _region_path(self, region_code: str) -> list[str]:
        try:
            return [r.name for r in await self.regions.path(region_code)]
        except (RegionNotFound, InvalidRegionCode):
            return []

    async def _region_known(self, code: Any) -> bool | None:
        if not isinstance(code, str):
            return None
        try:
            await self.regions.get(code)
        except RegionNotFound:
            return False
        except InvalidRegionCode:
            return None
        return True

    async def _credit(self, person: dict | None) -> rules.CreditFacts:
        if person is None:
            return rules.CreditFacts("unavailable")
        try:
            records = await asyncio.wait_for(
                self.credit.records_of(id_number=person["id_number"], name=person["name"]), self.credit_timeout)
        except Exception as error:  # noqa: BLE001 - down, slow or broken: all mean "cannot decide"
            log.warning("credit system unavailable for instant approval: %r", error)
            return rules.CreditFacts("unavailable")
        return rules.CreditFacts("record", tuple(records)) if records else rules.CreditFacts("clear")

    async def _seal(self, node_code: str, region_code: str):
        """The handling node's market-supervision seal, if it may sign now and belongs to a bureau
        whose region contains the matter's (a county's, its city's or its province's)."""
        seal = await self.seals.usable_seal_for(node_code=node_code, department_kind=SEAL_KIND)
        if seal is None:
            return None
        seal_region = seal.department_code.split("-")[0].ljust(12, "0")
        try:
            return seal if is_within(region_code, seal_region) else None
        except InvalidRegionCode:
            return None

    # --- the license ----------------------------------------------------------------------------

    async def _issue(self, node_code: str, code: str, name: str, request: ApprovalRequest, person: dict) -> str:
        form = request.form
        registered_on = request.submitted_at.astimezone(SHANGHAI).date().isoformat()
        data = {"credit_code": code, "business_name": name, "operator": person["name"],
                "operator_id_number": person["id_number"], "business_place": form["address"].strip(),
                "registered_on": registered_on, "business_scope": "、".join(form["business_scope"])}
        # The licenses service writes in a nested transaction (a savepoint of ours): the license
        # commits with the approval, or neither does.
        summary = await self.licenses.issue(node=node_code, type_code=LICENSE_TYPE, number=code, data=data)
        return summary.id


def _manual(checks: list[rules.Check]) -> ApprovalDecision:
    return ApprovalDecision(approved=False, checks=[c.as_dict() for c in checks],
                            results={"summary": rules.summary(checks)})


async def _node_of(conn: BaseDBAsyncClient, number: str) -> str:
    codes = await (Application.filter(**application_rules.by_number(number)).using_db(conn)
                   .values_list("node_code", flat=True))
    return codes[0]


async def seed_demo_names(regions, now: datetime) -> dict[str, int]:
    """The demo name registry (``govhub seed``), with each demo region's division names."""
    paths = {}
    for region6 in business_names.seed_regions():
        try:
            paths[region6] = [r.name for r in await regions.path(region6 + "000000")]
        except RegionNotFound:
            paths[region6] = []
    return await business_names.seed_names(paths, now)
