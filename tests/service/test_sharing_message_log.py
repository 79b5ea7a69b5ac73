"""The message log against the database: records chained in order (in batches, concurrently),
a changed or missing record found, timestamps checked (RFC 3161 tokens of the stub authority), and
the exchange failing closed when time-stamping has failed too long (domain/sharing/message_log.py)."""
from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from domain.shared.clock import FrozenClock
from domain.sharing.message_log import MessageLog, Record
from domain.sharing.models import ExchangeMessage, MessageLogStamp
from tests.support.sharing import InProcessStamper, later, log_record, verifier

pytestmark = pytest.mark.usefixtures("resources")
T0 = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(T0)


@pytest.fixture
def stamper(clock) -> InProcessStamper:
    return InProcessStamper(clock)


@pytest.fixture
def log(clock, stamper) -> MessageLog:
    return MessageLog(clock=clock, stamper=stamper, verifier=verifier(), max_unstamped=timedelta(minutes=5))


def record(n: int, clock) -> Record:
    return log_record(n, clock.now())


async def test_concurrent_calls_chain_in_order_and_verify(log, clock):
    await asyncio.gather(*(log.append(record(n, clock)) for n in range(40)))
    rows = await ExchangeMessage.all().order_by("seq")
    assert [r.seq for r in rows] == list(range(1, 41))
    assert all(b.prev_hash == a.hash for a, b in zip(rows, rows[1:]))
    check = await log.verify()
    assert (check.ok, check.records, check.unstamped) == (True, 40, 40)


async def test_a_changed_record_is_found(log, clock):
    for n in range(5):
        await log.append(record(n, clock))
    await ExchangeMessage.filter(seq=3).update(consumer="sh-tax")
    check = await log.verify()
    assert (check.intact, check.broken_at) == (False, 3)


async def test_a_removed_newest_record_is_found_from_the_head(log, clock):
    for n in range(3):
        await log.append(record(n, clock))
    await ExchangeMessage.filter(seq=3).delete()
    assert (await log.verify()).broken_at == 3


async def test_stamps_cover_batches_and_openssl_grade_tokens_verify(log, clock, stamper):
    for n in range(3):
        await log.append(record(n, clock))
    assert await log.stamp_pending() == 3
    await log.append(record(3, clock))
    assert await log.stamp_pending() == 1
    assert await log.stamp_pending() == 0  # nothing left: no token asked for
    check = await log.verify()
    assert (check.ok, check.stamps, check.unstamped, stamper.stamped) == (True, 2, 0, 2)


async def test_a_forged_token_or_a_stamp_over_another_record_is_found(log, clock):
    for n in range(2):
        await log.append(record(n, clock))
    await log.stamp_pending()
    stamp = await MessageLogStamp.first()
    token = bytearray(stamp.token)
    token[-5] ^= 0xFF
    await MessageLogStamp.filter(id=stamp.id).update(token=bytes(token))
    assert len((await log.verify()).bad_stamps) == 1
    await MessageLogStamp.filter(id=stamp.id).update(last_seq=1)
    assert "whose hash is not the one stamped" in (await log.verify()).bad_stamps[0]


async def test_the_exchange_fails_closed_when_time_stamping_fails_too_long(log, clock, stamper):
    stamper.down = True
    await log.append(record(0, clock))
    assert await log.stamp_pending() == 0  # refused: the record waits
    later(clock, minutes=4)
    log.forget()
    assert await log.is_open()
    later(clock, minutes=2)
    log.forget()
    assert not await log.is_open()
    stamper.down = False
    assert await log.stamp_pending() == 1
    assert await log.is_open()


async def test_times_keep_their_microseconds_through_the_database(log, clock):
    odd = replace(record(0, clock), request_in_at=T0 + timedelta(microseconds=123457))
    await log.append(odd)
    assert (await log.verify()).ok
