"""One disclosure rule for every way a license field leaves the hub (issue #12, item 3): a type's
sensitive fields leave in clear only on an act of the holder with a fresh face scan (L3) — the full
view, a presentation, a consent for departments; a release resting on less withholds them."""
from __future__ import annotations

import json

import pytest
from tortoise import Tortoise

from domain.identity.errors import AssuranceRequired
from domain.licenses import disclosure, rules
from domain.licenses.catalog import license_type
from domain.licenses.errors import ConsentRequired
from domain.licenses.exchange import ExchangeService
from domain.licenses.models import LicenseAccess, LicenseConsent
from domain.licenses.presentations import PresentationService
from domain.licenses.service import LicenseService
from domain.shared.clock import FrozenClock
from tests.support.clock import suite_clock
from tests.support.licenses import PSB, department, example

ALICE_ID = "110105199003070017"
L2, L3 = 2, 3


class Holders:
    async def id_number_of(self, person_id: str) -> str | None:
        return {"p-alice": ALICE_ID}.get(person_id)


class Applications:
    def __init__(self) -> None:
        self.naming: dict[tuple[str, str], list[str]] = {}

    async def applicants_naming(self, *, license_id: str, node_code: str) -> list[str]:
        return self.naming.get((license_id, node_code), [])


@pytest.fixture
async def hub(resources):
    await department(resources)
    clock, seals = FrozenClock(suite_clock.now()), resources.seals
    licenses = LicenseService(vault=resources.vault, clock=clock, seals=seals, holders=Holders())
    applications = Applications()
    issued = await licenses.issue(node=PSB, type_code="resident_id_card", number="ID-1",
                                  data=example("resident_id_card"))
    return type("Hub", (), dict(
        licenses=licenses, applications=applications, card=issued.id, seals=seals,
        shows=PresentationService(licenses=licenses, seals=seals, clock=clock),
        exchange=ExchangeService(licenses=licenses, nodes=resources.nodes, applications=applications,
                                 clock=clock)))


def test_the_rule_itself():
    sensitive = license_type("resident_id_card").sensitive
    assert rules.disclosure_assurance(sensitive, ["sex", "birth_date"]) == L2
    assert rules.disclosure_assurance(sensitive, ["sex", "address"]) == L3
    assert rules.withheld(sensitive, ["name", "sex", "id_number", "address"], L2) == ["name", "id_number", "address"]
    assert rules.withheld(sensitive, ["name", "sex", "id_number", "address"], L3) == []
    # every type in the catalog names at least one sensitive field (an ID number or a name)
    assert all(license_type(code).sensitive for code in ("business_license", "birth_medical_certificate"))


async def test_a_presentation_of_sensitive_fields_at_l2_is_refused_and_shows_nothing(hub):
    with pytest.raises(AssuranceRequired) as refused:
        await hub.shows.present(person_id="p-alice", license_id=hub.card, fields=["id_number", "address"],
                                assurance=L2)
    assert refused.value.extra["required"] == "L3" and refused.value.extra["fields"] == ["id_number", "address"]
    assert await LicenseAccess.filter(action="present").count() == 0  # nothing was shown
    assert await Tortoise.get_connection("default").execute_query_dict(
        "SELECT COUNT(*) AS n FROM license_presentations") == [{"n": 0}]
    plain = await hub.shows.present(person_id="p-alice", license_id=hub.card, fields=["sex", "birth_date"],
                                    assurance=L2)
    assert disclosure.revealed(disclosure.parse(plain.token)) == {"sex": "女", "birth_date": "1990-03-07"}
    full = await hub.shows.present(person_id="p-alice", license_id=hub.card, fields=["id_number", "address"],
                                   assurance=L3)
    assert disclosure.revealed(disclosure.parse(full.token))["id_number"] == ALICE_ID


async def test_the_full_view_follows_the_same_rule(hub):
    with pytest.raises(AssuranceRequired):
        await hub.licenses.detail(person_id="p-alice", license_id=hub.card, full=True, assurance=L2)
    assert await LicenseAccess.filter(action="view_full").count() == 0
    masked = await hub.licenses.detail(person_id="p-alice", license_id=hub.card, assurance=L3)
    assert masked.masked and masked.data["id_number"] != ALICE_ID  # L3 without asking: still masked
    full = await hub.licenses.detail(person_id="p-alice", license_id=hub.card, full=True, assurance=L3)
    assert full.data["id_number"] == ALICE_ID


async def test_a_consent_releases_sensitive_fields_so_granting_one_needs_l3(hub):
    with pytest.raises(AssuranceRequired) as refused:
        await hub.exchange.grant(person_id="p-alice", assurance=L2, department=PSB, type_code="resident_id_card",
                                 purpose="户籍业务", kind="standing", days=30)
    assert refused.value.extra["required"] == "L3"
    assert await LicenseConsent.all().count() == 0
    given = await hub.exchange.grant(person_id="p-alice", assurance=L3, department=PSB, type_code="resident_id_card",
                                     purpose="户籍业务", kind="standing", days=30)
    assert (await LicenseConsent.get(public_id=given.id)).granted_assurance == L3
    released = await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="户籍业务")
    assert released.withheld == () and released.data["address"] == "北京市朝阳区建国路1号"


async def test_a_filed_request_is_granted_under_the_same_rule(hub):
    with pytest.raises(ConsentRequired) as asked:
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="办理居住证")
    request = asked.value.extra["consent_request"]
    with pytest.raises(AssuranceRequired):
        await hub.exchange.grant(person_id="p-alice", assurance=L2, consent_id=request)
    assert (await hub.exchange.consents(person_id="p-alice"))[0].status == "requested"
    await hub.exchange.grant(person_id="p-alice", assurance=L3, consent_id=request)
    assert (await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID,
                                       purpose="办理居住证")).withheld == ()


async def _check_like_a_department(hub, released) -> None:
    """What a receiving department does: the stamp over the document, each field behind a digest."""
    assert (await hub.seals.verify_document(document=released.document.encode(), stamp=released.stamp)).valid
    signed = disclosure.unb64u(json.loads(released.document)["sd"])
    digests = {signed[i:i + 16] for i in range(0, len(signed), 16)}
    for field, value in released.data.items():
        assert disclosure.digest(released.disclosures[field]) in digests
        assert disclosure.open_disclosure(released.disclosures[field]) == (field, value)


async def test_a_release_on_an_application_withholds_the_sensitive_fields(hub):
    hub.applications.naming[(hub.card, PSB)] = ["p-alice"]
    released = await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="申请材料")
    assert released.basis == "application"
    assert released.withheld == ("name", "id_number", "address")
    assert not set(released.withheld) & (set(released.data) | set(released.disclosures))
    assert released.data["sex"] == "女"
    await _check_like_a_department(hub, released)


async def test_a_consent_from_before_assurance_was_recorded_counts_as_l2(hub):
    given = await hub.exchange.grant(person_id="p-alice", assurance=L3, department=PSB, type_code="resident_id_card",
                                     purpose="户籍业务", kind="standing", days=30)
    await LicenseConsent.filter(public_id=given.id).update(granted_assurance=None)  # as migration 0018 left it
    released = await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="户籍业务")
    assert released.withheld == ("name", "id_number", "address") and "id_number" not in released.data
    await _check_like_a_department(hub, released)
