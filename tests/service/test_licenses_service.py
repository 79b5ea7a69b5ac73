"""Licenses on the database: issuance, status, presentations, status lists, exchange with consent,
and the hash-chained access log — through the services the hub wires (a dict stands in for the
identity port: the wallet of person "p-alice" is Alice's ID number)."""
from __future__ import annotations

import zlib
from datetime import timedelta

import pytest
from tortoise import Tortoise

from domain.licenses import access_log, disclosure, rules
from domain.licenses.errors import (
    ConsentRequired,
    IssuerNotAllowed,
    LicenseExists,
    LicenseInvalid,
    LicenseNotPresentable,
    StatusChangeRefused,
)
from domain.licenses.exchange import ExchangeService
from domain.licenses.models import License, LicenseAccess
from domain.licenses.ports import NoApplications
from domain.licenses.presentations import PresentationService
from domain.licenses.service import LicenseService
from domain.seals import crypto
from domain.shared.clock import FrozenClock
from tests.support.clock import suite_clock
from tests.support.licenses import PSB, department, example

ALICE_ID = "110105199003070017"
FACE = 3  # a session with a fresh face scan (L3)


class Holders:
    def __init__(self, known: dict[str, str]) -> None:
        self.known = known

    async def id_number_of(self, person_id: str) -> str | None:
        return self.known.get(person_id)


class Applications:
    def __init__(self) -> None:
        self.naming: dict[tuple[str, str], list[str]] = {}

    async def applicants_naming(self, *, license_id: str, node_code: str) -> list[str]:
        return self.naming.get((license_id, node_code), [])


@pytest.fixture
async def hub(resources):
    clock = FrozenClock(suite_clock.now())
    seals = resources.seals
    seals._clock = clock  # the same seal service, on a clock the test moves
    licenses = LicenseService(vault=resources.vault, clock=clock, seals=seals,
                              holders=Holders({"p-alice": ALICE_ID, "p-bob": "330106198805120023"}))
    applications = Applications()
    yield type("Hub", (), dict(
        clock=clock, seals=seals, licenses=licenses, applications=applications,
        shows=PresentationService(licenses=licenses, seals=seals, clock=clock),
        exchange=ExchangeService(licenses=licenses, nodes=resources.nodes, applications=applications,
                                 clock=clock)))
    seals._clock = resources.clock


@pytest.fixture
async def psb(resources, hub):
    return await department(resources)


async def _issue(hub, type_code="resident_id_card", number="ID-1", **changes):
    return await hub.licenses.issue(node=PSB, type_code=type_code, number=number, data=example(type_code, **changes))


async def test_issued_license_is_sealed_stored_sealed_and_in_the_wallet(hub, psb):
    issued = await _issue(hub)
    assert issued.status == "valid" and issued.valid_until is not None and issued.valid_until.year == 2040
    row = await License.get(public_id=issued.id)
    assert ALICE_ID not in row.data_sealed and "张丽" not in row.document and ALICE_ID not in row.document
    verdict = await hub.seals.verify_document(document=row.document.encode(), stamp=row.stamp)
    assert verdict.valid and verdict.seal.algorithm == crypto.SM2
    assert [item.id for item in await hub.licenses.wallet(person_id="p-alice")] == [issued.id]
    assert await hub.licenses.wallet(person_id="p-bob") == []
    detail = await hub.licenses.detail(person_id="p-alice", license_id=issued.id)
    assert detail.data["id_number"] == "110105********0017" and detail.data["name"] == "*丽"
    full = await hub.licenses.detail(person_id="p-alice", license_id=issued.id, full=True, assurance=FACE)
    assert full.data["id_number"] == ALICE_ID


async def test_bad_issuance_is_refused_and_stores_nothing(hub, psb):
    with pytest.raises(LicenseInvalid) as bad:
        await _issue(hub, sex="未知")
    assert bad.value.extra["errors"][0]["field"] == "data.sex"
    with pytest.raises(LicenseInvalid):
        await _issue(hub, id_number="110105199003070018")  # bad check digit
    with pytest.raises(IssuerNotAllowed):  # a public-security seal cannot issue a marriage certificate
        await _issue(hub, "marriage_certificate", "M-1")
    await _issue(hub)
    with pytest.raises(LicenseExists):
        await _issue(hub)
    assert await License.all().count() == 1


async def test_status_changes_follow_the_standard_and_keep_history(hub, psb):
    issued = await _issue(hub)
    await hub.licenses.change_status(node=PSB, license_id=issued.id, status="suspended", reason="核查")
    await hub.licenses.change_status(node=PSB, license_id=issued.id, status="valid", reason="核查完毕")
    await hub.licenses.change_status(node=PSB, license_id=issued.id, status="revoked", reason="证件作废")
    with pytest.raises(StatusChangeRefused):
        await hub.licenses.change_status(node=PSB, license_id=issued.id, status="valid", reason="想恢复")
    history = await hub.licenses.history(person_id="p-alice", license_id=issued.id)
    assert [(e.status_from, e.status_to) for e in history] == [
        (None, "valid"), ("valid", "suspended"), ("suspended", "valid"), ("valid", "revoked")]


async def test_expiry_is_a_status(hub, psb):
    issued = await _issue(hub, valid_until="2030-01-01")
    assert issued.status == "valid"
    hub.clock.advance((issued.valid_until - hub.clock.now()).total_seconds() + 1)
    assert (await hub.licenses.wallet(person_id="p-alice"))[0].status == "expired"
    with pytest.raises(LicenseNotPresentable):
        await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name"], assurance=FACE)


async def test_presentations_reveal_only_the_chosen_fields_and_are_unlinkable(hub, psb):
    issued = await _issue(hub)
    first = await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name", "sex"], assurance=FACE)
    second = await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name", "sex"], assurance=FACE)
    assert ALICE_ID not in first.token and "建国路" not in first.token
    one, two = disclosure.parse(first.token), disclosure.parse(second.token)
    assert disclosure.revealed(one) == {"name": "张丽", "sex": "女"}
    # nothing repeats between two showings of one license: id, slot, digests, signature
    assert one.payload["pid"] != two.payload["pid"] and one.payload["sd"] != two.payload["sd"]
    assert one.payload["st"] != two.payload["st"] and one.signature != two.signature
    assert len(first.token.encode()) < 1000
    checked = await hub.shows.verify(first.token, actor_kind="verifier", actor="test")
    assert checked.result == "valid" and checked.fields == {"name": "张丽", "sex": "女"}
    assert (await hub.shows.verify(first.token, actor_kind="verifier", actor="test")).result == "replayed"


async def test_tampered_and_expired_tokens_are_rejected(hub, psb):
    issued = await _issue(hub)
    made = await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name"], assurance=FACE)
    parsed = disclosure.parse(made.token)
    forged = disclosure.b64u(disclosure.canonical_json([disclosure.b64u(b"0" * 16), "id_number", ALICE_ID]))
    assert (await hub.shows.verify(made.token + "~" + forged, actor_kind="verifier", actor="t")).result == "invalid"
    payload = {**parsed.payload, "exp": parsed.payload["exp"] + 3600}
    resigned = disclosure.signing_input(payload) + "." + made.token.split(".")[2]
    assert (await hub.shows.verify(resigned, actor_kind="verifier", actor="t")).reason == "bad_signature"
    hub.clock.advance(rules.PRESENTATION_SECONDS)
    assert (await hub.shows.verify(made.token, actor_kind="verifier", actor="t")).result == "expired"


async def test_status_list_shows_a_revoked_license_at_its_slot_only(hub, psb):
    issued = await _issue(hub)
    other = await _issue(hub, number="ID-2")
    made = await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name"], assurance=FACE)
    kept = await hub.shows.present(person_id="p-alice", license_id=other.id, fields=["name"], assurance=FACE)
    epoch, slot = disclosure.parse(made.token).payload["st"]
    _, kept_slot = disclosure.parse(kept.token).payload["st"]
    listed = await hub.shows.status_list(epoch)
    packed = zlib.decompress(disclosure.unb64u(listed["payload"]["list"]))
    assert rules.nibble_at(packed, slot) == 0
    await hub.licenses.change_status(node=PSB, license_id=issued.id, status="revoked", reason="作废")
    packed = zlib.decompress(disclosure.unb64u((await hub.shows.status_list(epoch))["payload"]["list"]))
    assert rules.nibble_at(packed, slot) == rules.STATUS_CODES["revoked"] and rules.nibble_at(packed, kept_slot) == 0
    assert sum(1 for byte in packed if byte) == 1
    assert (await hub.shows.verify(made.token, actor_kind="verifier", actor="t")).result == "revoked"


async def test_a_revoked_seal_stops_new_signatures_but_not_old_ones(hub, psb):
    issued = await _issue(hub)
    row = await License.get(public_id=issued.id)
    hub.clock.advance(5)
    await hub.seals.revoke(code=psb.seal_code)
    assert (await hub.seals.verify_document(document=row.document.encode(), stamp=row.stamp)).valid
    with pytest.raises(IssuerNotAllowed):
        await _issue(hub, number="ID-2")
    with pytest.raises(LicenseNotPresentable):
        await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name"], assurance=FACE)


async def test_exchange_needs_consent_and_logs_no_release_without_it(hub, psb):
    issued = await _issue(hub)
    with pytest.raises(ConsentRequired) as refused:
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="办理居住证")
    assert await LicenseAccess.filter(outcome="released").count() == 0
    requested = refused.value.extra["consent_request"]
    pending = await hub.exchange.consents(person_id="p-alice")
    assert [(c.id, c.status) for c in pending] == [(requested, "requested")]
    await hub.exchange.grant(person_id="p-alice", assurance=FACE, consent_id=requested)
    released = await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="办理居住证")
    assert released.data["id_number"] == ALICE_ID and released.basis == f"consent:{requested}"
    # the department checks what it got: seal over the document, data behind the digests
    assert (await hub.seals.verify_document(document=released.document.encode(), stamp=released.stamp)).valid
    with pytest.raises(ConsentRequired):  # a once-consent is used up
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="办理居住证")
    standing = await hub.exchange.grant(person_id="p-alice", assurance=FACE, department=PSB, type_code="resident_id_card",
                                        purpose="户籍业务", kind="standing", days=30)
    await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="户籍业务")
    await hub.exchange.revoke(person_id="p-alice", consent_id=standing.id)
    with pytest.raises(ConsentRequired):
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="户籍业务")
    outcomes = [e.outcome for e in reversed(await hub.licenses.access_log(person_id="p-alice"))]
    assert outcomes == ["refused", "released", "refused", "released", "refused"]
    assert issued.id in {e.license_id for e in await hub.licenses.access_log(person_id="p-alice")}


async def test_a_once_consent_releases_only_for_the_purpose_the_citizen_granted(hub, psb):
    await _issue(hub)
    with pytest.raises(ConsentRequired) as refused:
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="办理居住证")
    await hub.exchange.grant(person_id="p-alice", assurance=FACE, consent_id=refused.value.extra["consent_request"])
    with pytest.raises(ConsentRequired) as other:  # the same department, another purpose: asked anew
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="核查户籍信息")
    assert other.value.extra["consent_request"] != refused.value.extra["consent_request"]
    assert await LicenseAccess.filter(outcome="released").count() == 0
    released = await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID,
                                          purpose="办理居住证")
    assert released.basis == f"consent:{refused.value.extra['consent_request']}"
    statuses = {c.purpose: c.status for c in await hub.exchange.consents(person_id="p-alice")}
    assert statuses == {"办理居住证": "used", "核查户籍信息": "requested"}


async def test_an_application_naming_the_license_releases_it(hub, psb):
    issued = await _issue(hub)
    hub.applications.naming[(issued.id, PSB)] = ["p-alice"]
    released = await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="申请材料")
    assert released.basis == "application"
    hub.applications.naming[(issued.id, PSB)] = ["p-bob"]  # someone else's application proves nothing
    with pytest.raises(ConsentRequired):
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="申请材料")
    assert await NoApplications().applicants_naming(license_id=issued.id, node_code=PSB) == []


async def test_holds_answers_for_the_applications_module(hub, psb):
    issued = await _issue(hub)
    assert await hub.licenses.holds(person_id="p-alice", license_id=issued.id)
    assert not await hub.licenses.holds(person_id="p-bob", license_id=issued.id)
    assert not await hub.licenses.holds(person_id="p-nobody", license_id=issued.id)
    await hub.licenses.change_status(node=PSB, license_id=issued.id, status="suspended", reason="核查")
    assert not await hub.licenses.holds(person_id="p-alice", license_id=issued.id)


async def test_the_access_log_chain_verifies_and_tampering_shows(hub, psb):
    issued = await _issue(hub)
    for _ in range(3):
        await hub.licenses.detail(person_id="p-alice", license_id=issued.id)
    await hub.shows.present(person_id="p-alice", license_id=issued.id, fields=["name"], assurance=FACE)
    check = await access_log.verify_chain()
    assert check.intact and check.entries == 4
    conn = Tortoise.get_connection("default")
    await conn.execute_query("UPDATE license_access_log SET purpose = '篡改' WHERE seq = 2")
    check = await access_log.verify_chain()
    assert not check.intact and check.broken_at == 2


async def test_deleting_the_newest_entry_shows_too(hub, psb):
    issued = await _issue(hub)
    await hub.licenses.detail(person_id="p-alice", license_id=issued.id)
    await hub.licenses.detail(person_id="p-alice", license_id=issued.id)
    await Tortoise.get_connection("default").execute_query("DELETE FROM license_access_log WHERE seq = 2")
    assert not (await access_log.verify_chain()).intact


async def test_consents_expire(hub, psb):
    await _issue(hub)
    given = await hub.exchange.grant(person_id="p-alice", assurance=FACE, department=PSB, type_code="resident_id_card",
                                     purpose="户籍业务", kind="standing", days=1)
    hub.clock.advance(timedelta(days=1, seconds=1).total_seconds())
    assert (await hub.exchange.consents(person_id="p-alice"))[0].status == "expired"
    with pytest.raises(ConsentRequired):
        await hub.exchange.request(node=PSB, type_code="resident_id_card", holder=ALICE_ID, purpose="户籍业务")
    assert given.status == "granted"

