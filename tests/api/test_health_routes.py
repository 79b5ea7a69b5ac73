"""Health codes over HTTP: Zhejiang keeps its own key and signs each code at its endpoint (the stub
plays it); a citizen declares and gets Zhejiang's code; a Beijing checkpoint's node checks it online;
a credential made by a party outside the hub, with its own ES256 or PS256 key, verifies once its
certificate is registered; the public lists answer deltas, pages and conditional requests; bad input
stores nothing."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from domain.health import hcert
from domain.health.models import HealthRecord, IssuerKey
from domain.health.service import PushedRecord
from tests.support.applications import register_node
from tests.support.citizens import ALICE, BOB, bearer
from tests.support.department_stub import DEVKEYS, NODE_PUBLIC_KEY, running_stub
from tests.support.health import BJ, making_rules, named
from tests.support.health_verifier_world import Signer

ZJ_CERT = (DEVKEYS / "health_zhejiang_cert.pem").read_text()


@pytest.fixture(scope="module")
def stub():
    with running_stub(review=False) as running:  # plays zj-platform and its signing service
        yield running


@pytest.fixture
async def regions(resources, stub):
    """zj-platform signs at the stub (its node key is the devkey the stub signs with); a Beijing
    checkpoint's node; a department that is no issuer."""
    await resources.nodes.register(code="zj-platform", kind="province", name="浙江政务服务网",
                                   region_code="330000000000", public_key_pem=NODE_PUBLIC_KEY.read_text(),
                                   endpoint_url=stub.endpoint())
    beijing = await register_node(resources, "beijing-platform", "province", "110000000000")
    psb = await register_node(resources, "bj-psb", "department", "110000000000")
    return {"beijing": beijing, "psb": psb}


async def signed(client, node, method: str, path: str, body=None):
    raw = b"" if body is None else json.dumps(body, ensure_ascii=False).encode()
    headers = {**node.headers(method, path, raw), **({"Content-Type": "application/json"} if raw else {})}
    return await client.request(method, path, content=raw, headers=headers)


async def zhejiang_signs_itself(resources):
    zj = await resources.nodes.get("zj-platform")
    key = await resources.health.register_key(zj, certificate=ZJ_CERT.encode(), credential_types=["health_code"])
    await making_rules(resources.health, zj, resources.clock.now())
    return key


async def test_a_code_signed_by_zhejiang_itself_is_checked_online_in_beijing(client, resources, regions, mock_url):
    key = await zhejiang_signs_itself(resources)
    assert not key.delegated
    alice = await named(client, mock_url, "alice", ALICE)
    declared = await client.post("/wx/v1/me/health/declarations", headers=bearer(alice), json={
        "region": "330106", "trips": [{"region": "110000", "arrived": "2026-01-02", "left": "2026-01-05"}]})
    assert declared.status_code == 201, declared.text
    made = await client.post("/wx/v1/me/health/codes", headers=bearer(alice), json={"region": "330106"})
    assert made.status_code == 201, made.text
    code = made.json()
    assert (code["region"], code["colour"]) == ("330000", "green") and code["credential"].startswith("HC1:")
    assert ALICE["id_number"] not in json.dumps(code)
    check = await signed(client, regions["beijing"], "POST", "/gov/v1/health/checks",
                         {"credential": code["credential"], "checkpoint_region": BJ})
    assert check.status_code == 200, check.text
    decision = check.json()
    assert (decision["result"], decision["issuer_region"], decision["kid"]) == ("accepted", "330000", key.kid)
    tampered = code["credential"][:-6] + ("A" if code["credential"][-6] != "A" else "B") + code["credential"][-5:]
    bad = await signed(client, regions["psb"], "POST", "/gov/v1/health/checks",
                       {"credential": tampered, "checkpoint_region": BJ})
    assert bad.json()["result"] == "invalid", bad.text
    png = await client.post("/wx/v1/me/health/codes?format=png", headers=bearer(alice), json={"region": "330000"})
    assert (png.status_code, png.headers["content-type"]) == (201, "image/png")
    mine = (await client.get("/wx/v1/me/health/codes", headers=bearer(alice))).json()["items"]
    assert len(mine) == 1 and mine[0]["credential"] != code["credential"]  # one current code per region


async def test_a_credential_made_outside_the_hub_verifies_once_its_certificate_is_registered(
        client, resources, regions):
    beijing = await resources.nodes.get("beijing-platform")
    for alg in ("ES256", "PS256", "SM2-SM3"):  # SM2-SM3: a domestic issuer (COSE -65601)
        issued_at = resources.clock.now() - timedelta(minutes=1)
        outsider = Signer(alg, start=issued_at - timedelta(days=1), end=issued_at + timedelta(days=365))
        health = hcert.HealthPass(region=BJ, colour="green", masked_name="李*", credential_id=f"URN:HC:{BJ}:{alg}",
                                  valid_from=issued_at, valid_until=issued_at + timedelta(hours=12))
        credential = hcert.issue(health, issued_at=issued_at, private_key=outsider.key,
                                 certificate_der=outsider.der, alg=alg)
        before = await signed(client, regions["psb"], "POST", "/gov/v1/health/checks",
                              {"credential": credential, "checkpoint_region": BJ})
        assert (before.json()["result"], before.json()["code"]) == ("invalid", "unknown_kid")
        pem = x509.load_der_x509_certificate(outsider.der).public_bytes(Encoding.PEM).decode()
        registered = await signed(client, regions["beijing"], "POST", "/gov/v1/health/keys",
                                  {"certificate_pem": pem, "credential_types": ["health_code"]})
        assert (registered.status_code, registered.json()["alg"]) == (201, alg), registered.text
        after = await signed(client, regions["psb"], "POST", "/gov/v1/health/checks",
                             {"credential": credential, "checkpoint_region": BJ})
        assert after.json()["result"] == "accepted", after.text
    assert await IssuerKey.filter(region=BJ).count() == 3
    assert beijing.code == "beijing-platform"


async def test_the_public_lists_answer_deltas_pages_and_conditional_requests(client, resources, regions):
    await zhejiang_signs_itself(resources)
    whole = await client.get("/public/v1/health/trust-list")
    assert whole.status_code == 200
    etag, modified = whole.headers["etag"], whole.headers["last-modified"]
    assert (await client.get("/public/v1/health/trust-list", headers={"If-None-Match": etag})).status_code == 304
    assert (await client.get("/public/v1/health/trust-list",
                             headers={"If-Modified-Since": modified})).status_code == 304
    seq = whole.json()["payload"]["seq"]
    added = await signed(client, regions["beijing"], "POST", "/gov/v1/health/keys", {"delegate": True})
    assert added.status_code == 201, added.text
    delta = (await client.get("/public/v1/health/trust-list", params={"since": seq})).json()["payload"]
    assert [e["kid_hex"] for e in delta["entries"]] == [added.json()["kid"]]
    old = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    since_2020 = await client.get("/public/v1/health/trust-list", headers={"If-Modified-Since": old})
    assert len(since_2020.json()["payload"]["entries"]) == 2
    first = (await client.get("/public/v1/health/rules", params={"limit": 2})).json()["payload"]
    rest = (await client.get("/public/v1/health/rules", params={"since": first["next_since"]})).json()["payload"]
    assert first["more"] and not rest["more"]
    assert len(first["entries"]) + len(rest["entries"]) == 3


async def test_only_a_provincial_platform_acts_for_a_region_and_bad_input_stores_nothing(client, resources, regions):
    refused = await signed(client, regions["psb"], "POST", "/gov/v1/health/keys", {"delegate": True})
    assert (refused.status_code, refused.json()["code"]) == (403, "health_issuer_only")
    records = [{"record_id": "R-1", "id_number": BOB["id_number"], "kind": "test", "result": "negative",
                "occurred_at": "2026-01-01T08:00:00+08:00"},
               {"record_id": "R-2", "id_number": "110105199003070018", "kind": "test", "result": "negative",
                "occurred_at": "2026-01-01T08:00:00+08:00"}]
    bad = await signed(client, regions["beijing"], "POST", "/gov/v1/health/records", {"records": records})
    assert (bad.status_code, bad.json()["code"]) == (400, "health_record_invalid"), bad.text
    assert [e["field"] for e in bad.json()["errors"]] == ["records[1].id_number"]
    assert await HealthRecord.all().count() == 0
    pushed = await signed(client, regions["beijing"], "POST", "/gov/v1/health/records", {"records": records[:1]})
    again = await signed(client, regions["beijing"], "POST", "/gov/v1/health/records", {"records": records[:1]})
    assert (pushed.json()["added"], again.json()["added"], again.json()["already_known"]) == (1, 0, 1)
    early = await signed(client, regions["beijing"], "POST", "/gov/v1/health/rules", {
        "identifier": "AR-110000-0001", "version": 1, "type": "acceptance", "logic": True,
        "description": [{"lang": "zh", "desc": "立即生效"}], "valid_from": resources.clock.now().isoformat(),
        "valid_until": (resources.clock.now() + timedelta(days=9)).isoformat()})
    assert (early.status_code, early.json()["code"]) == (400, "health_rule_starts_too_soon")
    assert "earliest_valid_from" in early.json()


async def test_a_citizen_needs_real_name_and_sees_only_their_own(client, resources, regions, mock_url):
    from tests.support.citizens import login_wechat

    unnamed = await login_wechat(client, mock_url, "carol")
    refused = await client.get("/wx/v1/me/health/codes", headers=bearer(unnamed))
    assert (refused.status_code, refused.json()["code"]) == (403, "assurance_required")
    alice = await named(client, mock_url, "alice", ALICE)
    bob = await named(client, mock_url, "bob", BOB)
    await client.post("/wx/v1/me/health/declarations", headers=bearer(alice), json={"region": "330000"})
    future = await client.post("/wx/v1/me/health/declarations", headers=bearer(bob), json={
        "region": "330000", "trips": [{"region": "420100", "arrived": "2099-01-01"}]})
    assert (future.status_code, future.json()["code"]) == (400, "health_record_invalid")
    assert len((await client.get("/wx/v1/me/health/records", headers=bearer(alice))).json()["items"]) == 1
    assert (await client.get("/wx/v1/me/health/records", headers=bearer(bob))).json()["items"] == []
    no_rules = await client.post("/wx/v1/me/health/codes", headers=bearer(alice), json={"region": "330000"})
    assert (no_rules.status_code, no_rules.json()["code"]) == (409, "health_rules_missing")


async def test_another_region_reads_pooled_records_only_under_a_grant_and_the_citizen_sees_it(
        client, resources, regions, mock_url):
    from domain.sharing.service import Approval, GrantRequest, Party
    from tests.support.sharing import InProcessStamper

    resources.sharing.log.stamper, original = InProcessStamper(resources.clock), resources.sharing.log.stamper
    try:
        zj = await resources.nodes.get("zj-platform")
        await resources.health.push_records(zj, [PushedRecord(
                record_id="ZJ-T-1", id_number=BOB["id_number"], kind="test", result="negative",
                occurred_at=resources.clock.now() - timedelta(hours=2))])
        bob = await named(client, mock_url, "bob", BOB)
        await client.post("/wx/v1/me/health/declarations", headers=bearer(bob), json={"region": "330000"})
        ask = {"id_number": BOB["id_number"], "scope": "pooled"}
        refused = await signed(client, regions["beijing"], "POST", "/gov/v1/health/records/query", ask)
        assert (refused.status_code, refused.json()["code"]) == (403, "data_grant_required")
        own = await signed(client, regions["beijing"], "POST", "/gov/v1/health/records/query",
                           {"id_number": BOB["id_number"]})
        assert own.json()["items"] == []  # Beijing pushed nothing about bob
        grant = await resources.sharing.grants.request(consumer="beijing-platform", asked=GrantRequest(
            provider="govhub", service_code="health-records", fields=("test", "declaration"),
            purpose="入京人员健康核查", legal_basis="《中华人民共和国传染病防治法》", expected_daily_calls=100))
        await resources.sharing.grants.approve(party=Party(operator="ops"), grant_id=grant.id,
                                               approval=Approval(quota_per_minute=60, fields=("test",)))
        read = await signed(client, regions["beijing"], "POST", "/gov/v1/health/records/query", ask)
        assert read.status_code == 200, read.text
        assert [r["kind"] for r in read.json()["items"]] == ["test"]  # declarations were not granted
        uses = (await client.get("/wx/v1/me/data-uses", headers=bearer(bob))).json()["items"]
        assert [(u["kind"], u["department"]) for u in uses] == [("health_records", "beijing-platform")]
    finally:
        resources.sharing.log.stamper = original


async def test_a_declaration_sent_again_under_its_idempotency_key_is_stored_once(client, resources, regions, mock_url):
    alice = await named(client, mock_url, "alice", ALICE)
    headers = {**bearer(alice), "Idempotency-Key": "declare-1"}
    body = {"region": "330000", "symptoms": ["cough"]}
    first = await client.post("/wx/v1/me/health/declarations", headers=headers, json=body)
    again = await client.post("/wx/v1/me/health/declarations", headers=headers, json=body)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = await client.post("/wx/v1/me/health/declarations", headers=headers, json={"region": "330000"})
    assert (other.status_code, other.json()["code"]) == (409, "idempotency_key_reused")
    assert await HealthRecord.filter(kind="declaration").count() == 1
