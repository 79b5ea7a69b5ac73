"""Identity verification for departments (POST /gov/v1/identity/verifications) and the citizen's
data tracker (GET /{ch}/v1/me/data-uses): a grant from the hub's operators, match / no_match /
unknown and never the person's data, the face scan's freshness, the quota, the message log, and the
tracker's view — one's own only, paged, filtered, uses made before one ever logged in included."""
from __future__ import annotations

import json

import pytest

from domain.sharing.models import ExchangeMessage
from domain.sharing.service import Approval, GrantRequest, Party
from tests.support.applications import register_node
from tests.support.citizens import ALICE, BOB, CAROL, bearer, face_scan
from tests.support.housing_fund import verified
from tests.support.sharing import InProcessStamper

OPERATOR = Party(operator="ops")


@pytest.fixture
async def bank(resources):
    original = resources.sharing.log.stamper
    resources.sharing.log.stamper = InProcessStamper(resources.clock)
    yield await register_node(resources, "bj-bank-regulator", "department", "110000000000")
    resources.sharing.log.stamper = original


async def granted(resources, node: str = "bj-bank-regulator", quota: int = 60) -> str:
    asked = await resources.sharing.grants.request(consumer=node, asked=GrantRequest(
        provider="govhub", service_code="identity-verification", fields=("result",),
        purpose="开立账户时核验客户身份", legal_basis="《中华人民共和国反洗钱法》第二十八条", expected_daily_calls=1000))
    await resources.sharing.grants.approve(party=OPERATOR, grant_id=asked.id,
                                           approval=Approval(quota_per_minute=quota))
    return asked.id


async def check(client, node, body: dict):
    raw = json.dumps(body, ensure_ascii=False).encode()
    return await client.post("/gov/v1/identity/verifications", content=raw, headers={
        **node.headers("POST", "/gov/v1/identity/verifications", raw), "Content-Type": "application/json",
        "X-Road-Issue": "KH-2026-000123"})


async def test_without_a_grant_a_node_learns_nothing(client, resources, bank, mock_url):
    await verified(client, mock_url, "alice", ALICE)
    answer = await check(client, bank, {"name": ALICE["name"], "id_number": ALICE["id_number"]})
    assert (answer.status_code, answer.json()["code"]) == (403, "data_grant_required")
    assert "match" not in answer.text
    [logged] = await ExchangeMessage.all()
    assert (logged.kind, logged.fault) == ("identity_verification", "data_grant_required")


async def test_match_no_match_and_unknown_and_never_the_persons_data(client, resources, bank, mock_url):
    await verified(client, mock_url, "alice", ALICE)
    await granted(resources)
    same = await check(client, bank, {"name": ALICE["name"], "id_number": ALICE["id_number"]})
    assert same.status_code == 200 and same.json()["result"] == "match", same.text
    assert set(same.json()) == {"result", "face_checked", "request_id"}
    other = await check(client, bank, {"name": "李四", "id_number": ALICE["id_number"]})
    assert other.json()["result"] == "no_match"
    unknown = await check(client, bank, {"name": CAROL["name"], "id_number": CAROL["id_number"]})
    assert unknown.json()["result"] == "unknown"  # carol never gave the hub her real name
    bad = await check(client, bank, {"name": "张三", "id_number": "110105199003070018"})
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_id_number")
    assert await ExchangeMessage.all().count() == 4


async def test_a_face_session_must_be_the_citizens_passed_and_fresh(client, resources, bank, mock_url):
    alice = await verified(client, mock_url, "alice", ALICE)
    await face_scan(client, "/wx/v1", bearer(alice))
    [session] = [s for s in await _face_sessions(resources, ALICE)]
    await granted(resources)
    fresh = await check(client, bank, {"name": ALICE["name"], "id_number": ALICE["id_number"], "face_session": session})
    assert fresh.json() == {**fresh.json(), "result": "match", "face_checked": True}
    bob = await verified(client, mock_url, "bob", BOB)
    await face_scan(client, "/wx/v1", bearer(bob))
    [bobs] = [s for s in await _face_sessions(resources, BOB)]
    stolen = await check(client, bank, {"name": ALICE["name"], "id_number": ALICE["id_number"], "face_session": bobs})
    assert stolen.json()["result"] == "no_match"


async def _face_sessions(resources, who: dict) -> list[str]:
    from domain.identity.models import FaceSession, Person
    from domain.identity.people import ID_NUMBER

    person = await Person.get(id_number_hash=resources.vault.lookup_hash(who["id_number"], context=ID_NUMBER))
    return [f.id for f in await FaceSession.filter(person_id=person.id)]


async def test_the_quota_holds(client, resources, bank, mock_url):
    await granted(resources, quota=2)
    body = {"name": ALICE["name"], "id_number": ALICE["id_number"]}
    statuses = [(await check(client, bank, body)).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]


async def test_the_citizen_sees_checks_of_them_even_those_before_they_logged_in(client, resources, bank, mock_url):
    await granted(resources)
    await check(client, bank, {"name": ALICE["name"], "id_number": ALICE["id_number"]})  # alice unknown yet
    alice = await verified(client, mock_url, "alice", ALICE)
    await check(client, bank, {"name": ALICE["name"], "id_number": ALICE["id_number"]})
    page = (await client.get("/wx/v1/me/data-uses", params={"limit": 1}, headers=bearer(alice))).json()
    [newest] = page["items"]
    assert (newest["kind"], newest["outcome"], newest["department"]) == (
        "identity_verification", "match", "bj-bank-regulator")
    older = (await client.get("/wx/v1/me/data-uses", params={"cursor": page["next_cursor"]},
                              headers=bearer(alice))).json()
    assert [u["outcome"] for u in older["items"]] == ["unknown"] and older["next_cursor"] is None
    bob = await verified(client, mock_url, "bob", BOB)
    assert (await client.get("/wx/v1/me/data-uses", headers=bearer(bob))).json()["items"] == []
    tomorrow = resources.clock.now().date().replace(year=resources.clock.now().year + 1).isoformat()
    assert (await client.get("/wx/v1/me/data-uses", params={"since": tomorrow},
                             headers=bearer(alice))).json()["items"] == []
    bad = await client.get("/wx/v1/me/data-uses", params={"since": "2026-13-01"}, headers=bearer(alice))
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")


async def test_a_license_asked_for_by_a_department_is_in_the_holders_tracker(client, resources, mock_url):
    from tests.support.licenses import department, example

    alice = await verified(client, mock_url, "alice", ALICE)
    psb = await department(resources)
    await resources.licenses.issue(node=psb.node, type_code="resident_id_card", number="ID-TRACK-1",
                                   data=example("resident_id_card", name=ALICE["name"], id_number=ALICE["id_number"]))
    civil = await register_node(resources, "bj-civil", "department", "110000000000")
    from domain.licenses.errors import ConsentRequired

    with pytest.raises(ConsentRequired):
        await resources.license_exchange.request(node=civil.code, type_code="resident_id_card",
                                                 holder=ALICE["id_number"], purpose="办理婚姻登记核验身份")
    [use] = (await client.get("/wx/v1/me/data-uses", headers=bearer(alice))).json()["items"]
    assert (use["kind"], use["outcome"], use["department"], use["fields"]) == (
        "license_exchange", "refused", "bj-civil", [])
