"""The data tracker against the database (domain/sharing/tracker.py): an investigation's uses stay
hidden for their embargo and show after it; a citizen without real name has none."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.shared.clock import FrozenClock
from domain.sharing.models import DataUse
from domain.sharing.tracker import DataUses
from tests.support.citizens import ALICE
from tests.support.sharing import later, real_name_citizen

pytestmark = pytest.mark.usefixtures("resources")


async def test_an_embargoed_use_shows_once_its_days_have_passed(resources):
    clock = FrozenClock(datetime(2026, 12, 5, 2, 0, tzinfo=UTC))
    uses = DataUses(clock=clock, vault=resources.vault, identity=resources.identity, nodes=resources.nodes)
    alice = await real_name_citizen(resources.vault, "p_alice", ALICE["name"], ALICE["id_number"])
    for days, node in ((0, "bj-civil"), (30, "bj-police")):
        await DataUse.create(**await uses.row(
            subject=ALICE["id_number"], at=clock.now(), kind="exchange", node=node, service="CN/GOV/bj-psb/x/y",
            service_title="户籍信息摘要", fields=("name",), purpose="核查", issue=None, outcome="released",
            request_id=None, embargo_days=days))
    assert [u.node for u in (await uses.list(person_id=alice)).items] == ["bj-civil"]
    later(clock, days=29, hours=23)
    assert [u.node for u in (await uses.list(person_id=alice)).items] == ["bj-civil"]
    later(clock, hours=1)
    assert [u.node for u in (await uses.list(person_id=alice)).items] == ["bj-police", "bj-civil"]


async def test_an_account_without_real_name_has_no_uses(resources):
    from domain.identity.models import Person

    await Person.create(public_id="p_new", assurance=1)
    uses = DataUses(clock=resources.clock, vault=resources.vault, identity=resources.identity, nodes=resources.nodes)
    assert (await uses.list(person_id="p_new")).items == []
