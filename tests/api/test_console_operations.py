"""Operations in the console: deliveries filtered by state, node and age, a parked one resent (and a
selection), each resend in the audit trail as the JSON route writes it, the daily summary; operators
only, the applicants' data never shown."""
from __future__ import annotations

from domain.audit.service import AuditFilters, AuditLog
from domain.delivery.models import Delivery
from tests.api.test_console_pages import Browser, admins  # noqa: F401  (the fixture)

NOWHERE = "test.nowhere"  # a kind no sender handles: the relay parks it


async def parked(resources, count: int, target: str = "zj-platform") -> list[int]:
    ids = [await resources.delivery.enqueue(kind=NOWHERE, target=target, dedupe_key=f"{target}:{i}",
                                            payload={"number": f"N{i}", "form": {"id_number": "secret"}})
           for i in range(count)]
    await resources.delivery.relay_due(100)
    return ids


async def test_filter_open_and_resend_one_and_a_selection(client, admins, resources):
    zj, bj = await parked(resources, 3), await parked(resources, 1, target="bj-psb")
    ops = Browser(client)
    await ops.login("ops")
    listed = await ops.get("/console/deliveries", params={"status": "parked", "target": "bj-psb"})
    assert listed.status_code == 200 and f'value="{bj[0]}"' in listed.text and f'value="{zj[0]}"' not in listed.text
    aged = await ops.get("/console/deliveries", params={"status": "parked", "age": "1h"})
    assert "没有符合条件的投递" in aged.text  # all were made just now
    one = await ops.get(f"/console/deliveries/{zj[0]}")
    assert one.status_code == 200 and "secret" not in one.text and "form" in one.text  # keys, never values
    token = await ops.csrf("/console/deliveries")
    answer = await ops.post("/console/deliveries/resend", {"csrf_token": token, "id": [str(zj[0]), str(zj[1])],
                                                          "reason": "省平台已恢复"})
    assert answer.status_code == 303 and "done=" in answer.headers["location"]
    statuses = {d.id: d.status for d in await Delivery.all()}
    assert (statuses[zj[0]], statuses[zj[1]], statuses[zj[2]]) == ("pending", "pending", "parked")
    trail = (await AuditLog.list(AuditFilters(target_type="delivery"))).entries
    assert sorted(int(e.target_id) for e in trail) == sorted(zj[:2]) and {e.actor_username for e in trail} == {"ops"}
    again = await ops.post("/console/deliveries/resend", {"csrf_token": token, "id": str(zj[0])})
    assert "error=" in again.headers["location"]  # no longer parked: refused, said so
    summary = await ops.get("/console/deliveries/summary")
    assert summary.status_code == 200 and "bj-psb" in summary.text


async def test_only_operators_and_never_without_the_csrf_token(client, admins, resources):
    [delivery_id] = await parked(resources, 1)
    editor = Browser(client)
    await editor.login("editor")
    assert (await editor.get("/console/deliveries")).status_code == 403
    refused = await editor.post("/console/deliveries/resend", {"csrf_token": await editor.csrf(), "id": str(delivery_id)})
    assert refused.status_code == 403
    ops = Browser(client)
    await ops.login("ops")
    forged = await ops.post("/console/deliveries/resend", {"id": str(delivery_id)})
    assert forged.status_code == 403
    assert (await Delivery.get(id=delivery_id)).status == "parked"
    assert (await Browser(client).get("/console/deliveries")).status_code == 303
