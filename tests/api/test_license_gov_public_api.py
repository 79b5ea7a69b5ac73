"""/gov/v1 issuance and exchange, and the public verification routes with the offline verifier
(verifier/, which shares no code with the hub) reading what the hub publishes."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from tests.support.citizens import ALICE, bearer, face_scan, login_wechat, verify_real_name
from tests.support.clock import suite_clock
from tests.support.licenses import CIVIL, CIVIL_DEPARTMENT, anchor_pin, department, example, issue, signed
from verifier.offline import OfflineVerifier


@pytest.fixture
async def psb(resources):
    return await department(resources)


async def _alice(client, mock_url) -> dict:
    """Alice after a fresh face scan: the tokens here show her name, a sensitive field."""
    session = await login_wechat(client, mock_url)
    await verify_real_name(client, "/wx/v1", session, ALICE)
    return await face_scan(client, "/wx/v1", bearer(session))


async def _show(client, headers, license_id, fields=("name",)) -> str:
    response = await client.post(f"/wx/v1/licenses/{license_id}/presentations", json={"fields": list(fields)},
                                 headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def _offline(client, resources) -> OfflineVerifier:
    anchor = (await client.get("/public/v1/trust-anchor")).json()
    verifier = OfflineVerifier(anchor=anchor, pin=await anchor_pin(resources))
    verifier.load_trust_list((await client.get("/public/v1/trust-list")).json())
    return verifier


async def _load_status(client, verifier, token):
    epoch = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "==="))["st"][0]
    response = await client.get(f"/public/v1/status-lists/{epoch}")
    assert response.status_code == 200, response.text
    verifier.load_status_list(response.json())


@pytest.mark.parametrize("body, status, code", [
    ({"type": "resident_id_card", "number": "X", "data": example("resident_id_card", sex="?")}, 400, "license_invalid"),
    ({"type": "nope", "number": "X", "data": {}}, 400, "license_type_unknown"),
    ({"type": "resident_id_card", "number": "X"}, 400, "invalid_input"),
    ({"type": "marriage_certificate", "number": "X", "data": example("marriage_certificate")}, 403,
     "license_issuer_not_allowed"),
])
async def test_bad_issuance_gets_a_problem_and_stores_nothing(client, psb, body, status, code):
    response = await signed(client, psb, "POST", "/gov/v1/licenses", body)
    assert response.status_code == status and response.json()["code"] == code, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    from domain.licenses.models import License

    assert await License.all().count() == 0


async def test_issuance_needs_a_signature_and_repeats_are_conflicts(client, psb):
    unsigned = await client.post("/gov/v1/licenses", json={"type": "resident_id_card", "number": "1", "data": {}})
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "node_headers_missing"
    issued = await issue(client, psb)
    again = await signed(client, psb, "POST", "/gov/v1/licenses",
                         {"type": "resident_id_card", "number": "ID-0001", "data": example("resident_id_card")})
    assert again.status_code == 409 and again.json()["code"] == "license_exists"
    fetched = await signed(client, psb, "GET", f"/gov/v1/licenses/{issued['id']}")
    assert fetched.json()["status"] == "valid"


async def test_only_the_issuer_changes_a_license(client, resources, psb):
    issued = await issue(client, psb)
    civil = await department(resources, node=CIVIL, department_code=CIVIL_DEPARTMENT, kind="civil_affairs",
                             algorithm="ES256")
    other = await signed(client, civil, "POST", f"/gov/v1/licenses/{issued['id']}/status",
                         {"status": "revoked", "reason": "不是我发的"})
    assert other.status_code == 404
    bad = await signed(client, psb, "POST", f"/gov/v1/licenses/{issued['id']}/status",
                       {"status": "expired", "reason": "到期"})
    assert bad.status_code == 400
    final = await signed(client, psb, "POST", f"/gov/v1/licenses/{issued['id']}/status",
                         {"status": "cancelled", "reason": "注销"})
    assert final.json()["status_code"] == "05"
    back = await signed(client, psb, "POST", f"/gov/v1/licenses/{issued['id']}/status",
                        {"status": "valid", "reason": "恢复"})
    assert back.status_code == 409 and back.json()["code"] == "license_status_change_refused"
    marriage = await issue(client, civil, "marriage_certificate", "M-1")  # an ES256 seal works the same
    assert marriage["issuer"] == CIVIL_DEPARTMENT


async def test_sealed_documents_verify_publicly_and_tampering_shows(client, resources, psb, mock_url):
    await issue(client, psb)
    await _alice(client, mock_url)
    asked = await signed(client, psb, "POST", "/gov/v1/license-exchanges",
                         {"type": "resident_id_card", "holder": ALICE["id_number"], "purpose": "核验"})
    assert asked.status_code == 403
    from domain.licenses.models import License

    row = await License.first()
    document = base64.b64encode(row.document.encode()).decode()
    ok = (await client.post("/public/v1/seals/verify", json={"document": document, "stamp": row.stamp})).json()
    assert ok["valid"] and ok["reason"] == "ok" and ok["algorithm"] == "SM2-SM3"
    changed = base64.b64encode(row.document.replace("resident", "Resident").encode()).decode()
    assert (await client.post("/public/v1/seals/verify", json={"document": changed, "stamp": row.stamp})).json()[
        "reason"] == "document_changed"
    forged = {**row.stamp, "signed": {**row.stamp["signed"], "time": "2020-01-01T00:00:00Z"}}
    assert (await client.post("/public/v1/seals/verify", json={"document": document, "stamp": forged})).json()[
        "reason"] == "bad_signature"
    assert (await client.post("/public/v1/seals/verify", json={"document": "%%%", "stamp": {}})).status_code == 400
    assert (await client.post("/public/v1/seals/verify", json={"document": document, "stamp": {}})).json()[
        "reason"] == "malformed"


async def test_trust_list_has_delta_updates(client, resources, psb):
    full = (await client.get("/public/v1/trust-list")).json()
    version = full["payload"]["version"]
    assert {e["seal_id"] for e in full["payload"]["entries"]} == {psb.seal_code, "govhub-platform"}
    assert (await client.get(f"/public/v1/trust-list?since={version}")).json()["payload"]["entries"] == []
    await resources.seals.revoke(code=psb.seal_code)
    delta = (await client.get(f"/public/v1/trust-list?since={version}")).json()["payload"]
    assert [(e["seal_id"], e["status"]) for e in delta["entries"]] == [(psb.seal_code, "revoked")]
    anchor = (await client.get("/public/v1/trust-anchor")).json()
    verifier = OfflineVerifier(anchor=anchor, pin=await anchor_pin(resources))
    verifier.load_trust_list(full)
    verifier.load_trust_list((await client.get(f"/public/v1/trust-list?since={version}")).json())
    assert verifier.keys[delta["entries"][0]["key_id"]]["status"] == "revoked"
    assert (await client.get("/public/v1/trust-list?since=-1")).status_code == 400


async def test_offline_verification_valid_revoked_stale_and_replayed(client, resources, psb, mock_url):
    issued = await issue(client, psb)
    headers = await _alice(client, mock_url)
    token = await _show(client, headers, issued["id"], ("name", "sex"))
    verifier = await _offline(client, resources)
    assert verifier.verify(token).result == "status_unknown"  # no status list yet: never "valid"
    await _load_status(client, verifier, token)
    checked = verifier.verify(token)
    assert checked.result == "valid" and checked.fields == {"name": "张丽", "sex": "女"}
    assert verifier.verify(token).result == "replayed"
    later = await _show(client, headers, issued["id"])
    await signed(client, psb, "POST", f"/gov/v1/licenses/{issued['id']}/status", {"status": "revoked", "reason": "作废"})
    assert verifier.verify(later).result == "valid"  # the held list predates the revocation…
    await _load_status(client, verifier, later)
    assert verifier.verify(later).result == "revoked"  # …a fresh one shows it
    other = await issue(client, psb, number="ID-2")
    fresh_token = await _show(client, headers, other["id"])
    await _load_status(client, verifier, fresh_token)
    too_late = suite_clock.now() + timedelta(minutes=6)
    assert verifier.verify(fresh_token, now=too_late).result == "expired"


async def test_offline_status_unknown_when_the_list_is_stale(client, resources, psb, mock_url):
    issued = await issue(client, psb)
    token = await _show(client, await _alice(client, mock_url), issued["id"])
    verifier = await _offline(client, resources)
    await _load_status(client, verifier, token)
    listed = next(iter(verifier.status_lists.values()))
    listed["next_update"] = "2000-01-01T00:00:00Z"  # as if downloaded long ago
    assert verifier.verify(token).result == "status_unknown"


async def test_offline_rejects_tampering_and_forged_lists(client, resources, psb, mock_url):
    issued = await issue(client, psb)
    headers = await _alice(client, mock_url)
    token = await _show(client, headers, issued["id"])
    verifier = await _offline(client, resources)
    await _load_status(client, verifier, token)
    head, disclosure = token.split("~")
    other = (await _show(client, headers, issued["id"], ("id_number",))).split("~")[1]
    assert verifier.verify(f"{head}~{other}").reason == "disclosure_mismatch"  # another token's field
    assert verifier.verify(head[:-4] + "AAAA~" + disclosure).result == "invalid"
    assert verifier.verify("nonsense").reason == "malformed"
    forged = (await client.get("/public/v1/trust-list")).json()
    forged["payload"]["entries"] = []
    with pytest.raises(ValueError):
        verifier.load_trust_list(forged)


async def test_online_verification(client, psb, mock_url):
    issued = await issue(client, psb)
    token = await _show(client, await _alice(client, mock_url), issued["id"])
    by_node = await signed(client, psb, "POST", "/gov/v1/presentations/verify", {"token": token})
    assert by_node.json()["result"] == "valid" and by_node.json()["fields"] == {"name": "张丽"}
    again = await client.post("/public/v1/presentations/verify", json={"token": token})
    assert again.json()["result"] == "replayed"
    garbage = await client.post("/public/v1/presentations/verify", json={"token": "GHP1.not-a-token"})
    assert garbage.status_code == 400 and garbage.json()["code"] == "presentation_malformed"
    assert (await client.get("/public/v1/status-lists/1")).json()["code"] == "status_list_not_found"


async def test_license_types_are_published(client):
    items = (await client.get("/public/v1/license-types")).json()["items"]
    assert len(items) >= 30 and all(item["schema"]["type"] == "object" for item in items)
