"""Month partitions on real PostgreSQL (migration 0024, domain/partitions, docs/partitions.md).

Each test works in months of its own, years back (2017-2021), so it never touches the months the
rest of the suite writes in; a test that detaches drops what it detached.
"""
from __future__ import annotations

import asyncio
import os
import re
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from tortoise import connections
from tortoise.exceptions import IntegrityError

from adapters.scheduler import jobs
from alembic import command
from bff import database
from domain.applications import rules as application_rules
from domain.applications.models import Application, Transition
from domain.delivery.models import Delivery
from domain.notifications.models import Notification
from domain.partitions.rules import Month
from domain.partitions.service import DetachRefused, PartitionService, PartitionsUnsupported
from domain.shared.clock import SHANGHAI
from tests.conftest import _admin_execute, _is_postgres

ON_POSTGRES = _is_postgres(os.environ.get("GOVHUB_DATABASE_URL", ""))
postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="partitions exist on PostgreSQL only (migration 0024 "
                                   "leaves SQLite's tables plain); runs in .ci/run's second phase")


def at(year: int, month: int, day: int = 15, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


async def application(submitted_at: datetime, *, status: str = "submitted", number: str | None = None,
                      person_id: str = "p_part") -> Application:
    day = submitted_at.astimezone(SHANGHAI)  # numbers carry the Beijing day
    number = number or f"330106-{day:%Y%m%d}-{uuid.uuid4().int % 10**6:06d}"
    return await Application.create(
        number=number, person_id=person_id, matter_code="330106-NAT-0023", matter_name="个体工商户设立登记",
        department_code="330106-market_supervision", region_code="330106000000",
        node_code="330106-market_supervision", channel="wechat", status=status, form_sealed="v1:",
        promised_limit_days=5, submitted_at=submitted_at, created_at=submitted_at, updated_at=submitted_at)


async def delivery(created_at: datetime, *, status: str = "delivered", key: str | None = None,
                   due: datetime | None = None) -> Delivery:
    return await Delivery.create(kind="test.partitions", target="nowhere", payload={}, dedupe_key=key or uuid.uuid4().hex,
                                 status=status, next_attempt_at=due or created_at, created_at=created_at,
                                 updated_at=created_at)


async def notification(moment: datetime) -> Notification:
    return await Notification.create(person_id="p_part", application_number=uuid.uuid4().hex[:20], at=moment,
                                     transition="submit", status="submitted", matter_name="事项", outcome="inbox",
                                     created_at=moment, updated_at=moment)


async def home(table: str, row_id: int) -> str:
    rows = await connections.get("default").execute_query_dict(
        f'SELECT tableoid::regclass::text AS part FROM "{table}" WHERE id = $1', [row_id])
    return rows[0]["part"]


async def plan(sql: str) -> str:
    rows = await connections.get("default").execute_query(f"EXPLAIN {sql}")
    return "\n".join(r["QUERY PLAN"] for r in rows[1])


def scanned(text: str, table: str) -> set[str]:
    """The partitions of ``table`` a plan reads."""
    return set(re.findall(rf"\bon ({table}_\w+)", text))


async def drop(*tables: str) -> None:
    for table in tables:
        await connections.get("default").execute_script(f'DROP TABLE IF EXISTS "{table}"')


@pytest.fixture
def partitions(resources) -> PartitionService:
    return PartitionService(clock=resources.clock)


async def test_on_sqlite_there_is_nothing_to_partition_and_the_job_says_so(resources, partitions):
    if ON_POSTGRES:
        assert partitions.supported()
        return
    assert not partitions.supported()
    with pytest.raises(PartitionsUnsupported):
        await partitions.list()
    assert await jobs.ensure_partitions(resources) == {"supported": False}


@postgres_only
async def test_rows_land_in_their_month_and_a_month_made_late_takes_its_rows_out_of_default(partitions):
    made = await partitions.ensure(now=at(2021, 3), ahead=1)
    assert {"applications_y2021m03", "deliveries_y2021m04", "notifications_y2021m03"} <= set(made)
    assert await partitions.ensure(now=at(2021, 3), ahead=1) == []  # made once
    app = await application(at(2021, 3, 31, 23))
    sent = await delivery(at(2021, 4, 1, 0))
    note = await notification(at(2021, 3, 1, 0))
    late = await delivery(at(2021, 5, 2))  # no May partition yet: DEFAULT takes it
    assert [await home("applications", app.id), await home("deliveries", sent.id),
            await home("notifications", note.id), await home("deliveries", late.id)] == [
        "applications_y2021m03", "deliveries_y2021m04", "notifications_y2021m03", "deliveries_default"]
    assert "deliveries_y2021m05" in await partitions.ensure(now=at(2021, 5), ahead=0)
    assert await home("deliveries", late.id) == "deliveries_y2021m05"
    assert (await Delivery.get(dedupe_key=late.dedupe_key)).id == late.id
    with pytest.raises(IntegrityError):  # its key row stayed: the key is still taken
        await connections.get("default").execute_query(
            "INSERT INTO delivery_keys (id, dedupe_key, created_at) VALUES ($1, $2, $3)",
            [late.id + 1000, late.dedupe_key, late.created_at])


@postgres_only
async def test_uniqueness_holds_across_months(partitions):
    await partitions.ensure(now=at(2020, 1), ahead=2)
    first = await application(at(2020, 1, 10), number="330106-20200110-000001")
    with pytest.raises(IntegrityError):  # the same number in another month
        await application(at(2020, 3, 10), number="330106-20200110-000001")
    await delivery(at(2020, 1, 10), key="same-key")
    again = await Delivery.create(kind="test.partitions", target="nowhere", payload={}, dedupe_key="same-key",
                                  status="pending", next_attempt_at=at(2020, 3), created_at=at(2020, 3),
                                  updated_at=at(2020, 3))
    assert await Delivery.filter(dedupe_key="same-key").count() == 1
    assert again.id is None or not await Delivery.filter(id=again.id).exists()
    ids = {first.id, (await application(at(2020, 2, 1))).id, (await application(at(2020, 3, 1))).id}
    assert len(ids) == 3
    with pytest.raises(IntegrityError, match="never change"):  # the key table holds the number
        await Application.filter(id=first.id).update(number="330106-20200110-000002")
    # a new partition key moves the row to its month, and its key row follows
    await Application.filter(id=first.id).update(submitted_at=at(2020, 2, 10))
    assert await home("applications", first.id) == "applications_y2020m02"
    await Delivery.filter(dedupe_key="same-key").update(created_at=at(2020, 3, 2))
    moved = await Delivery.get(dedupe_key="same-key")
    assert await home("deliveries", moved.id) == "deliveries_y2020m03"
    keyed = await connections.get("default").execute_query_dict(
        "SELECT (SELECT submitted_at FROM application_keys WHERE id = $1) AS a, "
        "(SELECT created_at FROM delivery_keys WHERE id = $2) AS d", [first.id, moved.id])
    assert (keyed[0]["a"], keyed[0]["d"]) == (at(2020, 2, 10), at(2020, 3, 2))
    await Transition.create(application_id=first.id, name="submit", to_status="submitted", at=first.submitted_at,
                            actor_kind="citizen", actor_id="p_part")
    with pytest.raises(IntegrityError):  # foreign keys still hold, through the key table
        await Transition.create(application_id=first.id + 10_000, name="submit", to_status="submitted",
                                at=first.submitted_at, actor_kind="citizen", actor_id="p_part")


@postgres_only
async def test_a_lookup_by_number_reads_one_month(partitions):
    await partitions.ensure(now=at(2019, 6), ahead=1)
    app = await application(at(2019, 6, 20))
    query = Application.filter(**application_rules.by_number(app.number))
    assert (await query.get()).id == app.id
    assert scanned(await plan(query.sql(params_inline=True)), "applications") == {"applications_y2019m06"}
    # a Beijing day that starts in the previous UTC month reads both months, no more
    query = Application.filter(**application_rules.by_number("330106-20190701-000001"))
    assert scanned(await plan(query.sql(params_inline=True)), "applications") == {
        "applications_y2019m06", "applications_y2019m07"}


@postgres_only
async def test_the_relay_picks_due_deliveries_from_every_month(resources, partitions):
    await partitions.ensure(now=at(2018, 1), ahead=2)
    due = [await delivery(at(2018, m), status="pending", due=resources.clock.now() - timedelta(minutes=1))
           for m in (1, 2, 3)]
    await delivery(at(2018, 2), status="delivered")
    report = await resources.delivery.relay_due(10)
    assert report.claimed == 3  # kind without a sender: each is tried once and parked
    assert {d.status for d in await Delivery.filter(id__in=[d.id for d in due])} == {"parked"}


@postgres_only
async def test_the_relays_pick_reads_each_month_through_its_index(partitions):
    """The relay's question has no partition key (a resent delivery keeps its month): each month
    answers it from its (status, next_attempt_at) index, so old months cost one index probe."""
    await partitions.ensure(now=at(2017, 1), ahead=5)
    db = connections.get("default")
    await db.execute_script(
        "INSERT INTO deliveries (kind, target, dedupe_key, status, attempts, next_attempt_at, created_at, updated_at) "
        "SELECT 'test.partitions', 'nowhere', 'bulk-' || g, 'delivered', 1, t, t, t FROM generate_series(1, 6000) g, "
        "LATERAL (SELECT timestamptz '2017-01-01 00:00+00' + (g % 180) * interval '1 day') m(t); ANALYZE deliveries")
    text = await plan("SELECT id FROM deliveries WHERE status = 'pending' AND next_attempt_at <= now() "
                      "AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY next_attempt_at, id LIMIT 100 "
                      "FOR UPDATE SKIP LOCKED")
    months = [p for p in scanned(text, "deliveries") if p.startswith("deliveries_y2017")]
    assert len(months) == 6, text
    # (empty months of other tests, never analysed, cost nothing either way)
    assert not re.findall(r"Seq Scan on deliveries_y2017", text), text


@postgres_only
async def test_detach_refuses_live_rows_and_detaches_finished_months(partitions):
    await partitions.ensure(now=at(2016, 1), ahead=2)
    await application(at(2016, 1, 5), status="completed")
    open_one = await application(at(2016, 2, 5), status="in_review")
    await application(at(2016, 3, 5), status="withdrawn")
    await delivery(at(2016, 1, 5), status="delivered")
    parked = await delivery(at(2016, 1, 6), status="parked")
    await notification(at(2016, 2, 1))
    try:
        report = await partitions.detach(before=Month(2016, 4), now=at(2016, 5))
        assert report.refused == {"applications_y2016m02": 1, "deliveries_y2016m01": 1}
        # the month before the live one went; the live one and every later one stayed
        assert "applications_y2016m01" in report.detached and "applications_y2016m03" not in report.detached
        assert {"notifications_y2016m01", "notifications_y2016m02", "notifications_y2016m03"} <= set(report.detached)
        attached = {p.name for p in await partitions.list()}
        assert {"applications_y2016m02", "applications_y2016m03", "deliveries_y2016m01"} <= attached
        assert "applications_y2016m01" not in attached
        rows = await connections.get("default").execute_query_dict('SELECT count(*) AS n FROM "applications_y2016m01"')
        assert rows[0]["n"] == 1  # detached, not dropped: the operator archives it
        await Application.filter(id=open_one.id).update(status="completed")
        await Delivery.filter(id=parked.id).update(status="delivered")
        again = await partitions.detach(before=Month(2016, 4), now=at(2016, 5))
        assert again.refused == {}
        assert {"applications_y2016m02", "applications_y2016m03", "deliveries_y2016m01"} <= set(again.detached)
        with pytest.raises(DetachRefused, match="ended"):  # the current month still takes rows
            await partitions.detach(before=Month(2016, 6), now=at(2016, 5))
    finally:
        await drop(*(f"{t}_y2016m{m:02d}" for t in ("applications", "deliveries", "notifications") for m in (1, 2, 3)))


@postgres_only
async def test_the_job_keeps_the_months_ahead(resources):
    result = await jobs.ensure_partitions(resources)
    current = Month.of(resources.clock.now())
    names = {p.name for p in await PartitionService(clock=resources.clock).list()}
    assert result["supported"] is True
    assert {f"applications_y{m.year:04d}m{m.month:02d}" for m in (current, current.next(3))} <= names


def _rows(tag: str) -> str:
    """Two applications (October and November 2026) with a transition, a delivery with an attempt
    and a notification each, written as the tables stand (before or after migration 0024)."""
    return f"""
INSERT INTO applications (number, person_id, matter_code, matter_name, department_code, region_code, node_code,
    channel, status, form_sealed, promised_limit_days, overdue, submitted_at, version, created_at, updated_at)
SELECT '330106-2026' || m || '10-{tag}', '{tag}', 'm', '事项', 'd', '330106000000', 'n',
    'wechat', 'submitted', 'v1:', 5, false, t, 1, t, t
FROM generate_series(10, 11) m, LATERAL (SELECT make_timestamptz(2026, m, 10, 4, 0, 0, 'UTC')) s(t);
INSERT INTO application_transitions (name, to_status, at, actor_kind, actor_id, application_id)
SELECT 'submit', 'submitted', submitted_at, 'citizen', '{tag}', id FROM applications WHERE person_id = '{tag}';
INSERT INTO deliveries (kind, target, dedupe_key, status, attempts, next_attempt_at, created_at, updated_at)
SELECT 'k', 'n', 'mig-' || number, 'pending', 0, submitted_at, submitted_at, submitted_at
FROM applications WHERE person_id = '{tag}';
INSERT INTO delivery_attempts (number, relay, started_at, duration_ms, outcome, delivery_id)
SELECT 1, 'r', created_at, 5, 'retry', id FROM deliveries WHERE dedupe_key LIKE 'mig-%-{tag}';
INSERT INTO notifications (person_id, application_number, at, transition, status, matter_name, outcome,
    created_at, updated_at)
SELECT '{tag}', number, submitted_at, 'submit', 'submitted', '事项', 'inbox', submitted_at, submitted_at
FROM applications WHERE person_id = '{tag}';
"""


_COUNTS = ("applications", "application_transitions", "deliveries", "delivery_attempts", "notifications")


@postgres_only
def test_the_migration_keeps_every_row_up_and_down():
    given = os.environ["GOVHUB_DATABASE_URL"]
    name = f"govhub_parts_{uuid.uuid4().hex[:8]}"
    url = given.rsplit("/", 1)[0] + "/" + name

    async def sql(script: str | None = None) -> tuple[dict, dict]:
        conn = await asyncpg.connect(url.replace("postgres://", "postgresql://", 1))
        try:
            if script:
                await conn.execute(script)
            counts = {t: await conn.fetchval(f'SELECT count(*) FROM "{t}"') for t in _COUNTS}
            homes = {r["part"]: r["n"] for r in await conn.fetch(
                "SELECT tableoid::regclass::text AS part, count(*) AS n FROM applications GROUP BY 1")}
            return counts, homes
        finally:
            await conn.close()

    asyncio.run(_admin_execute(given, f'CREATE DATABASE "{name}"'))
    try:
        database.migrate(url, "0023")
        before, _ = asyncio.run(sql(_rows("000001")))
        assert set(before.values()) == {2}
        database.migrate(url)
        after, homes = asyncio.run(sql())
        assert after == before and homes == {"applications_y2026m10": 1, "applications_y2026m11": 1}
        # the ids carry on from their sequences; a new row finds its key table and its month
        asyncio.run(sql(_rows("000002")))
        command.downgrade(database.alembic_config(url), "0023")
        down, homes = asyncio.run(sql())
        assert down == {t: 4 for t in _COUNTS} and homes == {"applications": 4}
        with pytest.raises(asyncpg.UniqueViolationError):  # the plain table's unique number is back
            asyncio.run(sql("INSERT INTO applications (number, person_id, matter_code, matter_name, department_code, "
                            "region_code, node_code, channel, status, form_sealed, promised_limit_days, overdue, "
                            "submitted_at, version, created_at, updated_at) SELECT number, person_id, matter_code, "
                            "matter_name, department_code, region_code, node_code, channel, status, form_sealed, "
                            "promised_limit_days, overdue, submitted_at, version, created_at, updated_at "
                            "FROM applications LIMIT 1"))
        database.migrate(url)  # and up again
        assert asyncio.run(sql())[0] == down
    finally:
        asyncio.run(_admin_execute(given, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
