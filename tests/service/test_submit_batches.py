"""Submissions written by their one writer (domain/applications/writer.py) in group-commit batches:
many citizens at once each get their own application, numbers stay unique, keys stay idempotent
inside a batch and across batches, and one bad submission never costs the others theirs."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.storage.local import LocalMaterialStore
from domain.applications import rules
from domain.applications.models import Application, Transition
from domain.applications.service import ApplicationService
from domain.delivery.models import Delivery
from domain.identity.errors import AssuranceRequired, TokenInvalid
from domain.notifications.models import Notification
from domain.shared.clock import FrozenClock
from domain.shared.errors import IdempotencyKeyReused
from domain.shared.models import IdempotencyKey
from tests.support.applications import HZ_FUND, PDF, matter, setup_catalog_and_nodes, verified_person

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
PLAIN = "330100-NAT-0036"  # no materials, no instant approval
WITH_UPLOAD = "330100-NAT-0037"  # one uploaded material
LOSS_FORM = {"amount_fen": 1, "bank_account": "6222020000000000001"}


class Batches:
    """Wraps the group commit's batch writer to see the batches it was given."""

    def __init__(self, service: ApplicationService) -> None:
        self.sizes: list[int] = []
        write = service.writer.batches._write_batch

        async def recording(items):
            self.sizes.append(len(items))
            return await write(items)

        service.writer.batches._write_batch = recording


@pytest.fixture
async def service(resources, tmp_path):
    await setup_catalog_and_nodes(resources)
    report = await resources.catalog.upsert([
        matter(PLAIN, "330100000000", HZ_FUND, materials=[], catalog_code="NAT-0036", name="居民身份证挂失申报"),
        matter(WITH_UPLOAD, "330100000000", HZ_FUND, catalog_code="NAT-0037", name="购房合同备案",
               materials=[{"name": "购房合同", "license_type": None, "required": True}])])
    assert not report.rejected, report.rejected
    s = resources
    return ApplicationService(clock=FrozenClock(NOW), vault=s.vault, catalog=s.catalog, nodes=s.nodes,
                              identity=s.identity, delivery=s.delivery, store=LocalMaterialStore(tmp_path))


@pytest.fixture
async def citizens(resources):
    return [await verified_person(resources, f"p_{i}", name=f"张{i}") for i in range(8)]


async def _submit(service, person, key, form=LOSS_FORM):
    return await service.submit(person_id=person, channel="wechat", matter_code=PLAIN, form=form, materials=[],
                                idempotency_key=key)


async def test_many_at_once_go_in_batches_and_each_gets_its_own_application(service, citizens, resources):
    service.listeners.join(resources.notifications)
    batches = Batches(service)
    results = await asyncio.gather(*(_submit(service, citizens[i % 8], f"k{i}") for i in range(40)))
    assert max(batches.sizes) > 1 and sum(batches.sizes) == 40
    numbers = [r.application.number for r in results]
    assert len(set(numbers)) == 40 and not any(r.replayed for r in results)
    assert sorted(int(n[-6:]) for n in numbers) == list(range(1, 41))  # one day's numbers, no gaps
    for result, index in zip(results, range(40)):
        view = result.application
        assert view.status == rules.SUBMITTED and view.node_code == "zj-platform" and view.form == LOSS_FORM
        assert view == await service.detail(person_id=citizens[index % 8], number=view.number)  # as written
    assert await Application.filter(status=rules.SUBMITTED).count() == 40
    assert await Transition.filter(name="submit").count() == 40
    assert await Delivery.filter(kind="node.application.submitted").count() == 40
    assert await Notification.filter(transition="submit").count() == 40
    records = await IdempotencyKey.all()
    assert sorted(r.result for r in records) == sorted(numbers)
    delivery = await Delivery.get(dedupe_key=f"application:{numbers[0]}:submitted")
    payload = service.delivery.payload_of(delivery)
    assert payload["number"] == numbers[0] and payload["form"] == LOSS_FORM
    assert delivery.target == "zj-platform"


async def test_submissions_with_materials_share_the_batch_with_plain_ones(service, citizens):
    """One writer for every submission: uploads are attached inside the batch's transaction."""
    batches = Batches(service)
    uploads = [(await service.upload_material(person_id=citizens[i], data=PDF, filename=f"合同{i}.pdf")).id
               for i in range(4)]
    with_upload = [service.submit(person_id=citizens[i], channel="wechat", matter_code=WITH_UPLOAD, form=LOSS_FORM,
                                  materials=[{"name": "购房合同", "upload_id": uploads[i]}], idempotency_key=f"m{i}")
                   for i in range(4)]
    results = await asyncio.gather(*with_upload, *(_submit(service, citizens[i], f"p{i}") for i in range(4, 8)))
    assert max(batches.sizes) > 1 and sum(batches.sizes) == 8
    for index, result in enumerate(results):
        view = result.application
        assert view == await service.detail(person_id=citizens[index], number=view.number)  # as written
        assert [m.id for m in view.materials] == ([uploads[index]] if index < 4 else [])
    delivery = await Delivery.get(dedupe_key=f"application:{results[0].application.number}:submitted")
    assert [m["name"] for m in service.delivery.payload_of(delivery)["materials"]] == ["购房合同"]


async def test_one_key_twice_in_a_batch_is_one_application_and_another_body_is_refused(service, citizens):
    batches = Batches(service)
    same = [_submit(service, citizens[0], "dup") for _ in range(5)]
    other = _submit(service, citizens[0], "dup", form={**LOSS_FORM, "amount_fen": 2})
    results = await asyncio.gather(*same, other, *(_submit(service, citizens[1], f"x{i}") for i in range(5)),
                                   return_exceptions=True)
    assert max(batches.sizes) > 1
    keyed = results[:6]  # whichever body came first wins the key; the other body is refused
    answered = [r for r in keyed if not isinstance(r, Exception)]
    refused = [r for r in keyed if isinstance(r, Exception)]
    assert all(isinstance(r, IdempotencyKeyReused) for r in refused)
    assert len(refused) in (1, 5) and len({r.application.number for r in answered}) == 1
    assert [r.replayed for r in answered].count(False) == 1
    assert await Application.filter(person_id=citizens[0]).count() == 1
    assert await Application.filter(person_id=citizens[1]).count() == 5


async def test_a_key_used_in_an_earlier_batch_answers_its_first_result(service, citizens):
    first = await _submit(service, citizens[0], "again")
    results = await asyncio.gather(_submit(service, citizens[0], "again"), _submit(service, citizens[1], "new"))
    assert results[0].replayed and results[0].application.number == first.application.number
    assert not results[1].replayed
    with pytest.raises(IdempotencyKeyReused):
        await _submit(service, citizens[0], "again", form={**LOSS_FORM, "amount_fen": 3})
    retries = await asyncio.gather(*(_submit(service, citizens[0], "again") for _ in range(4)))  # nothing new
    assert {(r.replayed, r.application.number) for r in retries} == {(True, first.application.number)}
    assert await Application.all().count() == 2


async def test_a_submission_that_breaks_its_batch_fails_alone_and_the_others_are_written(service, citizens):
    class RefusesOne:
        async def on_transitions(self, notices, *, connection):
            if any(n.person_id == citizens[3] for n in notices):
                raise RuntimeError("the message store refused p_3")

    service.listeners.join(RefusesOne())
    batches = Batches(service)
    results = await asyncio.gather(*(_submit(service, citizens[i], f"k{i}") for i in range(8)),
                                   return_exceptions=True)
    assert max(batches.sizes) > 1
    assert isinstance(results[3], RuntimeError)
    assert all(not isinstance(r, Exception) for i, r in enumerate(results) if i != 3)
    assert await Application.all().count() == 7 and await Delivery.all().count() == 7
    assert not await Application.filter(person_id=citizens[3]).exists()
    assert not await IdempotencyKey.filter(person_id=citizens[3]).exists()  # a retry can still succeed


async def test_a_batch_reads_its_applicants_at_once_and_refuses_only_the_unverified(service, citizens, resources):
    """Applicants are read where the batch is written, in one query: one who is not real-name
    verified (L1), or unknown, is refused alone."""
    unverified = await verified_person(resources, "p_l1", name="李一", assurance=1)
    reads = []
    identity = service.identity
    applicants = identity.applicants

    async def counted(*, person_ids):
        reads.append(len(person_ids))
        return await applicants(person_ids=person_ids)

    identity.applicants = counted
    batches = Batches(service)
    people = [citizens[0], citizens[1], unverified, "p_nobody", citizens[2], citizens[3]]
    results = await asyncio.gather(*(_submit(service, p, f"k{i}") for i, p in enumerate(people)),
                                   return_exceptions=True)
    assert max(batches.sizes) > 1 and len(reads) == len(batches.sizes)  # one read a batch
    assert isinstance(results[2], AssuranceRequired) and isinstance(results[3], TokenInvalid)
    assert all(not isinstance(r, Exception) for i, r in enumerate(results) if i not in (2, 3))
    assert await Application.all().count() == 4
    assert not await IdempotencyKey.filter(person_id__in=[unverified, "p_nobody"]).exists()


class Counts:
    def __init__(self, broken: bool = False) -> None:
        self.calls: list[dict[int, int]] = []
        self.broken = broken

    async def count_applications(self, counts):
        if self.broken:
            raise ConnectionError("redis is down")
        self.calls.append(dict(counts))


async def test_a_batch_counts_its_applications_for_popularity_in_one_call(service, citizens, monkeypatch):
    counts = Counts()
    monkeypatch.setattr(service.catalog, "popularity", counts)
    Batches(service)
    await asyncio.gather(*(_submit(service, citizens[i % 8], f"k{i}") for i in range(12)))
    await service.counted()
    matter_id = (await service.catalog.matter(code=PLAIN)).id
    assert sum(call[matter_id] for call in counts.calls) == 12 and len(counts.calls) < 12


async def test_a_popularity_counter_that_is_down_costs_a_count_not_the_answer(service, citizens, monkeypatch):
    monkeypatch.setattr(service.catalog, "popularity", Counts(broken=True))
    results = await asyncio.gather(*(_submit(service, citizens[i], f"k{i}") for i in range(3)))
    await service.counted()
    result = results[0]
    assert not result.replayed and await Application.filter(number=result.application.number).exists()


async def test_a_submission_inside_a_callers_transaction_rolls_back_with_it(service, citizens):
    """A fund withdrawal claims its quota and submits in one transaction: the submission must nest
    in it, never go to a batch that commits on its own."""
    from tortoise.transactions import in_transaction

    async def failing_caller():
        async with in_transaction():
            await _submit(service, citizens[0], "inside")
            raise RuntimeError("the caller's own step failed")

    batches = Batches(service)
    with pytest.raises(RuntimeError):  # (a batch waiting for the caller's lock would time out instead)
        await asyncio.wait_for(failing_caller(), timeout=20)
    assert batches.sizes == [] and await Application.all().count() == 0
    assert not await IdempotencyKey.exists() and not await Delivery.exists()
    async with in_transaction():
        kept = await _submit(service, citizens[0], "inside")
    assert await Application.filter(number=kept.application.number).exists()
