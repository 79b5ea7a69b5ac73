"""The guardian's view on the channels: the newborn's licenses, issued over signed /gov/v1 as the
department stub issues them, listed in the mother's wallet as the child's, masked and read-only."""
from __future__ import annotations

import pytest

from adapters.departments.stub.licenses import license_request
from tests.support.citizens import ALICE, BOB, bearer, login_app, login_wechat, verify_real_name
from tests.support.clock import suite_clock
from tests.support.licenses import department, signed

KINDS = {"BDL-0001": "health", "BDL-0002": "public_security", "BDL-0003": "human_resources_social_security"}


@pytest.fixture
async def departments(resources):
    return {step: await department(resources, node=f"zj-{kind}", department_code=f"330106-{kind}", kind=kind)
            for step, kind in KINDS.items()}


async def test_the_mothers_wallet_lists_the_newborns_licenses_as_the_childs(client, mock_url, departments):
    form = {"child_name": "王小明", "child_sex": "男", "birth_date": "2026-11-20", "birth_place": "西湖区妇幼保健院",
            "mother_name": ALICE["name"], "mother_id_number": ALICE["id_number"], "certificate_number": "N3301060001",
            "household_address": "浙江省杭州市西湖区文三路1号"}
    for step, dept in departments.items():
        body = license_request({"matter_code": f"330106-{step}", "form": form,
                                "number": f"330106-20261127-1-{step}"}, suite_clock.today().isoformat())["body"]
        issued = await signed(client, dept, "POST", "/gov/v1/licenses", body)
        assert issued.status_code == 201, issued.text
    mother = await login_wechat(client, mock_url)
    await verify_real_name(client, "/wx/v1", mother, ALICE)
    items = (await client.get("/wx/v1/licenses", headers=bearer(mother))).json()["items"]
    assert {(i["type"], i["held_by"]) for i in items} == {
        ("birth_medical_certificate", "self"), ("household_register", "minor"), ("social_security_card", "minor")}
    child = [i for i in items if i["held_by"] == "minor"]
    assert all(i["holder"]["name"] == "**明" and i["holder"]["id_number"].startswith("330106") for i in child)
    assert "20261120" not in str(child)  # the child's ID number is masked
    stranger = await login_app(client, mock_url, BOB["phone"])
    await verify_real_name(client, "/app/v1", stranger, BOB)
    theirs = await client.get("/app/v1/licenses", headers={**bearer(stranger), "X-Device-Id": "device-1"})
    assert theirs.status_code == 200 and theirs.json()["items"] == []
