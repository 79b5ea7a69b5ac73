"""A guardian's view of a minor's licenses: the newborn bundle's licenses, issued as the department
stub issues them, show in the parents' wallets (read-only, the child masked, each read logged in
the child's access log) and in nobody else's, until the child turns 18."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from adapters.departments.stub.licenses import license_request
from domain.licenses import access_log
from domain.licenses.errors import LicenseInvalid, LicenseNotFound
from domain.licenses.guardianship import adult_at
from domain.licenses.models import LicenseAccess
from domain.licenses.presentations import PresentationService
from domain.licenses.service import LicenseService
from domain.shared.clock import FrozenClock
from tests.support.licenses import department

MOTHER, FATHER, STRANGER = "110105199003070017", "330106198805120023", "440304198511050027"
NODES = {"health": "zj-health", "public_security": "zj-psb", "human_resources_social_security": "zj-hrss",
         "medical_security": "zj-medical"}
STEPS = ("BDL-0001", "BDL-0002", "BDL-0003", "BDL-0004")  # certificate, household, card, insurance


class Holders:
    async def id_number_of(self, person_id: str) -> str | None:
        return {"p-mother": MOTHER, "p-father": FATHER, "p-stranger": STRANGER}.get(person_id)


@pytest.fixture
async def hub(resources):
    clock = FrozenClock(datetime.fromisoformat("2026-11-28T02:00:00+00:00"))
    for kind, node in NODES.items():
        await department(resources, node=node, department_code=f"330106-{kind}", kind=kind)
    licenses = LicenseService(vault=resources.vault, clock=clock, seals=resources.seals,
                              holders=Holders())
    return type("Hub", (), dict(clock=clock, licenses=licenses))


def _form(**changes) -> dict:
    return {"child_name": "王小明", "child_sex": "男", "birth_date": "2026-11-20", "birth_place": "西湖区妇幼保健院",
            "mother_name": "张丽", "mother_id_number": MOTHER, "father_name": "王强", "father_id_number": FATHER,
            "certificate_number": "N330106000001", "household_address": "浙江省杭州市西湖区文三路1号", **changes}


async def _newborn(hub, form: dict, application: str = "330106-20261127-000001", steps=STEPS) -> dict:
    """Issue what the stub issues when the newborn bundle's steps are approved: type -> license id."""
    issued = {}
    for step in steps:
        body = license_request({"matter_code": f"330106-{step}", "form": form, "number": f"{application}-{step}"},
                               hub.clock.today().isoformat())["body"]
        node = NODES[{"BDL-0001": "health", "BDL-0002": "public_security", "BDL-0003": "human_resources_social_security",
                      "BDL-0004": "medical_security"}[step]]
        summary = await hub.licenses.issue(node=node, type_code=body["type"], number=body["number"],
                                           data=body["data"])
        issued[body["type"]] = summary.id
    return issued


async def test_parents_see_the_newborns_licenses_a_stranger_does_not(hub):
    issued = await _newborn(hub, _form())
    child_types = {"household_register", "social_security_card", "medical_insurance_certificate"}
    for parent in ("p-mother", "p-father"):
        shown = await hub.licenses.guarded(person_id=parent)
        assert {item.summary.type_code for item in shown} == child_types
        assert {item.holder_name for item in shown} == {"**明"}
        assert all(item.holder_id_number.startswith("330106") and "*" in item.holder_id_number for item in shown)
    assert await hub.licenses.guarded(person_id="p-stranger") == []
    # the mother's own wallet keeps only her own: the birth certificate
    assert [s.type_code for s in await hub.licenses.wallet(person_id="p-mother")] == ["birth_medical_certificate"]
    # read-only: a guardian cannot open or show the child's license as their own
    # (not even with a fresh face scan of their own: the guardian is not the holder)
    with pytest.raises(LicenseNotFound):
        await hub.licenses.detail(person_id="p-mother", license_id=issued["household_register"], full=True,
                                  assurance=3)
    shows = PresentationService(licenses=hub.licenses, seals=hub.licenses._seals, clock=hub.clock)
    with pytest.raises(LicenseNotFound):
        await shows.present(person_id="p-mother", license_id=issued["social_security_card"], fields=["name"],
                            assurance=3)


async def test_every_guardian_read_is_in_the_childs_hash_chained_access_log(hub):
    issued = await _newborn(hub, _form())
    await hub.licenses.guarded(person_id="p-mother")
    entries = await LicenseAccess.filter(actor_kind="guardian").order_by("seq")
    assert {e.license_id for e in entries} == {issued[t] for t in ("household_register", "social_security_card",
                                                                   "medical_insurance_certificate")}
    mother_hash = await hub.licenses.wallet_hash("p-mother")
    assert {(e.action, e.purpose, e.outcome, e.actor) for e in entries} == {("view", "监护人查看", "shown", mother_hash)}
    assert all(e.wallet_hash != mother_hash for e in entries)  # it is the child's log
    assert (await access_log.verify_chain()).intact
    await hub.licenses.guarded(person_id="p-stranger")
    assert await LicenseAccess.filter(actor_kind="guardian").count() == 3  # a stranger reads nothing


async def test_a_child_who_turns_18_drops_out_of_the_parents_view(hub):
    await _newborn(hub, _form())
    eve = adult_at(datetime.fromisoformat("2026-11-20").date()).astimezone(timezone.utc)
    hub.clock._at = eve - timedelta(seconds=1)
    assert len(await hub.licenses.guarded(person_id="p-mother")) == 3
    hub.clock._at = eve
    assert await hub.licenses.guarded(person_id="p-mother") == []


async def test_a_license_issued_to_an_adult_links_nobody(hub):
    # the same name, birth date and sex, but the ID number of an adult: not a child of this certificate
    await _newborn(hub, _form(birth_date="1985-11-05", certificate_number="N1"), steps=("BDL-0001",))
    await hub.licenses.issue(node="zj-psb", type_code="household_register", number="HR-adult",
                             data={"name": "王小明", "id_number": STRANGER, "household_number": "HH1", "address": "x"})
    assert await hub.licenses.guarded(person_id="p-mother") == []


async def test_certificates_that_disagree_on_the_parents_link_nobody(hub):
    # two children alike in name, birth date and sex, of different parents: fail closed
    await _newborn(hub, _form(), steps=("BDL-0001",))
    await _newborn(hub, _form(certificate_number="N330106000002", mother_id_number=STRANGER, mother_name="李娜",
                              father_name=None, father_id_number=None),
                   application="330106-20261127-000002", steps=("BDL-0001",))
    await _newborn(hub, _form(), steps=("BDL-0002",))
    for parent in ("p-mother", "p-father", "p-stranger"):
        assert await hub.licenses.guarded(person_id=parent) == []


async def test_a_revoked_birth_certificate_names_no_guardian(hub):
    issued = await _newborn(hub, _form())
    await hub.licenses.change_status(node="zj-health", license_id=issued["birth_medical_certificate"],
                                     status="revoked", reason="出具错误")
    assert await hub.licenses.guarded(person_id="p-mother") == []


async def test_a_certificate_with_an_impossible_birth_date_is_refused_and_stores_nothing(hub):
    with pytest.raises(LicenseInvalid) as refused:
        await _newborn(hub, _form(birth_date="2026-02-30"), steps=("BDL-0001",))
    assert refused.value.extra["errors"] == [{"field": "data.birth_date", "message": "日期无效"}]
    assert await hub.licenses.wallet(person_id="p-mother") == []
