"""Rows the figures count, written at chosen moments (people, applications and their 秒批,
licenses and their presentations, the exchange's message log), and a figures service on a clock of
the test's own. Written straight to the tables: the figures read them only through the services."""
from __future__ import annotations

import itertools
import uuid
from datetime import datetime, timedelta

from adapters.cache.traffic import RedisTraffic
from domain.applications.models import Application, Transition
from domain.figures.service import FiguresService
from domain.identity.models import Person
from domain.licenses.models import License, LicensePresentation
from domain.sharing.models import ExchangeMessage

_numbers = itertools.count(1)


def figures_service(resources, clock) -> FiguresService:
    """The hub's services, counted and rolled up on ``clock``; counters in the hub's Redis."""
    s = resources
    return FiguresService(clock=clock, vault=s.vault, traffic=RedisTraffic(s.redis.aio, flush_seconds=0.05),
                          identity=s.identity, applications=s.applications, licenses=s.licenses, sharing=s.sharing,
                          nodes=s.nodes)


async def person(at: datetime, *, real_name_at: datetime | None = None, merged_into: Person | None = None,
                 merged_at: datetime | None = None) -> Person:
    """Registered ``at``; merged into ``merged_into`` at ``merged_at`` (default: when registered)."""
    return await Person.create(public_id=uuid.uuid4().hex, created_at=at, updated_at=at,
                               real_name_verified_at=real_name_at, assurance=2 if real_name_at else 1,
                               merged_into=merged_into, merged_at=(merged_at or at) if merged_into else None)


async def application(at: datetime, *, channel: str = "wechat", completed_at: datetime | None = None,
                      instant: bool = False) -> Application:
    n = next(_numbers)
    app = await Application.create(
        number=f"330106-{at:%Y%m%d}-{n:06d}-{uuid.uuid4().hex[:4]}", person_id=uuid.uuid4().hex,
        matter_code="330106-NAT-0023", matter_name="个体工商户设立登记", department_code="330106-market_supervision",
        region_code="330106000000", node_code="330106-market_supervision", channel=channel,
        status="completed" if completed_at else "submitted", form_sealed="v1:", promised_limit_days=5,
        submitted_at=at, closed_at=completed_at, created_at=at, updated_at=at)
    if instant:
        actor = {"actor_kind": "system", "actor_id": "instant_approval"}
        await Transition.create(application=app, name="approve", from_status="accepted", to_status="approved",
                                at=completed_at or at, **actor)
    return app


async def license_issued(at: datetime, *, shown: list[datetime] = ()) -> License:
    n = next(_numbers)
    row = await License.create(
        public_id=uuid.uuid4().hex, type_code="individual_business_license", number=f"FIG{n:08d}",
        issuer_node="330106-market_supervision", issuer_department="330106-market_supervision", seal_code="seal",
        holder_kind="person", holder_hash="h" * 64, wallet_hash="w" * 64, data_sealed="v1:",
        disclosures_sealed="v1:", document="{}", stamp={}, status="valid", valid_from=at, issued_at=at,
        status_changed_at=at)
    for moment in shown:
        await LicensePresentation.create(public_id=uuid.uuid4().hex, license=row, epoch=next(_numbers),
                                         slot=next(_numbers), fields_shown=[], created_at=moment,
                                         expires_at=moment + timedelta(minutes=3))
    return row


async def exchange_call(at: datetime, *, consumer: str, kind: str = "exchange") -> ExchangeMessage:
    n = next(_numbers)
    return await ExchangeMessage.create(
        seq=n, kind=kind, message_id=uuid.uuid4().hex, request_id=uuid.uuid4().hex, client=f"CN/GOV/{consumer}",
        service="CN/GOV/bj-hrss/social-security", consumer=consumer, provider="bj-hrss", method="GET",
        path="/r1/x", fields_returned=[], request_in_at=at, response_out_at=at, request_bytes=0,
        response_bytes=0, request_digest="0" * 64, response_digest="0" * 64, request_hash="x", status=200,
        prev_hash="0" * 64, hash=uuid.uuid4().hex * 2)
