"""The application service on the database, for the tests of tests/service/test_applications_*.py:
the service wired to the hub's real parts with a wallet of its own, the catalog and nodes it routes
to, two verified citizens, and the calls the tests repeat (an upload, a submission, a node event).
Import the fixtures by name (nodes, service, alice, bob)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from adapters.storage.local import LocalMaterialStore
from domain.applications.ports import LicenseRef
from domain.applications.service import ApplicationService
from tests.support.applications import FORM, PDF, setup_catalog_and_nodes, verified_person

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)  # Friday 10:00 in Beijing
FUND = "330100-NAT-0001"


class Wallet:
    """A wallet holding one resident ID card for alice."""

    async def holds(self, *, person_id: str, license_id: str) -> LicenseRef | None:
        if person_id == "p_alice" and license_id == "lic-id-alice":
            return LicenseRef(license_id, "resident_id_card", "居民身份证")
        return None


@pytest.fixture
async def nodes(resources):
    return await setup_catalog_and_nodes(resources)


@pytest.fixture
async def service(resources, clock, tmp_path, nodes):
    return make_service(resources, clock, tmp_path)


def make_service(hub, clock, tmp_path, **ports) -> ApplicationService:
    return ApplicationService(clock=clock, vault=hub.vault, catalog=hub.catalog, nodes=hub.nodes,
                              identity=hub.identity, delivery=hub.delivery, store=LocalMaterialStore(tmp_path),
                              wallet=Wallet(), upload_max_bytes=4096, **ports)


@pytest.fixture
async def alice(resources):
    return await verified_person(resources, "p_alice")


@pytest.fixture
async def bob(resources):
    return await verified_person(resources, "p_bob", name="王强")


async def upload(service, person="p_alice", data=PDF):
    return (await service.upload_material(person_id=person, data=data, filename="合同.pdf")).id


async def submit(service, person="p_alice", key="k-1", matter=FUND, form=FORM, materials=None, channel="wechat"):
    if materials is None:
        materials = [{"name": "居民身份证", "license_id": "lic-id-alice"},
                     {"name": "购房合同", "upload_id": await upload(service, person)}]
    return await service.submit(person_id=person, channel=channel, matter_code=matter, form=form,
                                materials=materials, idempotency_key=key)


async def event(service, number, type_, *, node="zj-platform", event_id=None, minutes=0, **extra):
    return await service.apply_event(node_code=node, number=number, event_id=event_id or f"ev-{type_}",
                                     type=type_, occurred_at=NOW + timedelta(minutes=minutes), **extra)
