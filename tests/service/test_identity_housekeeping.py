"""The identity housekeeping (domain/identity/housekeeping.py, hourly): SMS challenges, face sessions
and refresh tokens expired more than two days ago are deleted, the rest stay; a pile larger than
one statement's share goes in several (domain/shared/purge.py); on PostgreSQL each share is found
through the index on expires_at, never by reading the table."""
from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import connections

from domain.identity import housekeeping
from domain.identity.models import FaceSession, Person, RefreshToken, SmsChallenge
from domain.shared import purge

pytestmark = pytest.mark.usefixtures("resources")
NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
GONE = NOW - housekeeping.KEEP - timedelta(minutes=1)  # expired, and kept long enough
KEPT = NOW - housekeeping.KEEP + timedelta(minutes=1)  # expired, but still counted (daily SMS limit)


async def _rows(person: Person, n: int, expires_at: datetime, tag: str) -> None:
    for i in range(n):
        at = expires_at - timedelta(minutes=5)
        await SmsChallenge.create(phone_hash=f"h{tag}{i}", code_hash="c", created_at=at, expires_at=expires_at)
        await FaceSession.create(id=f"f{tag}{i}", person=person, channel="app", provider_session="s",
                                 created_at=at, expires_at=expires_at)
        await RefreshToken.create(token_hash=f"t{tag}{i}", family_id=f"fam{tag}{i}", person=person,
                                  channel="app", issued_at=at, expires_at=expires_at)


async def test_what_expired_two_days_ago_goes_and_the_rest_stays():
    person = await Person.create(public_id="p_housekeeping")
    await _rows(person, 3, GONE, "old")
    await _rows(person, 2, KEPT, "new")
    assert await housekeeping.purge_expired(now=NOW) == {"sms_challenges": 3, "face_sessions": 3,
                                                           "refresh_tokens": 3}
    for model in (SmsChallenge, FaceSession, RefreshToken):
        assert await model.filter(expires_at=KEPT).count() == 2 and await model.all().count() == 2
    assert await housekeeping.purge_expired(now=NOW) == {"sms_challenges": 0, "face_sessions": 0,
                                                           "refresh_tokens": 0}


async def test_a_pile_larger_than_a_statement_goes_in_several(monkeypatch):
    person = await Person.create(public_id="p_housekeeping")
    await _rows(person, 5, GONE, "old")
    await _rows(person, 1, KEPT, "new")
    statements = []
    real = purge.expired

    def counted(*args, **kwargs):
        statements.append(kwargs["batch"])
        return real(*args, **kwargs)

    monkeypatch.setattr(purge, "expired", counted)
    assert await purge.purge_before(RefreshToken, "expires_at", NOW - housekeeping.KEEP, batch=2) == 5
    assert len(statements) == 3  # 2 + 2 + 1
    assert [t.token_hash for t in await RefreshToken.all()] == ["tnew0"]


@pytest.mark.skipif(not os.environ.get("GOVHUB_DATABASE_URL", "").startswith("postgres"),
                    reason="PostgreSQL's planner")
async def test_each_share_is_found_through_the_index_on_expires_at():
    """A table of live tokens with a few expired among them, as every hour finds it: the expired are
    read from the index in expiry order, the table is not scanned."""
    conn = connections.get("default")
    person = await Person.create(public_id="p_housekeeping")
    cutoff = NOW - housekeeping.KEEP
    await conn.execute_query(  # a token a second for 28 hours, each valid 30 days: the first hour's expired
        "INSERT INTO refresh_tokens (token_hash, family_id, person_id, channel, assurance, issued_at, expires_at) "
        "SELECT 't' || n, 'f' || n, $1, 'app', 1, at, at + interval '30 days' "
        "FROM (SELECT n, $2::timestamptz + n * interval '1 second' AS at FROM generate_series(1, 100000) n) t",
        [person.id, cutoff - timedelta(days=30, hours=1)])
    assert await RefreshToken.filter(expires_at__lt=cutoff).count() == 3599
    await conn.execute_query("ANALYZE refresh_tokens")
    sql = purge.expired(RefreshToken, "expires_at", cutoff, batch=purge.PURGE_BATCH).sql(params_inline=True)
    _, plan = await conn.execute_query(f"EXPLAIN {sql}")
    text = "\n".join(row["QUERY PLAN"] for row in plan)
    assert "idx_refresh_tok_expires_310999" in text and "Seq Scan" not in text, text
