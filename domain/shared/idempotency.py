"""The Idempotency-Key, one mechanism for every capability: a citizen's write sent again under
the same key answers its first result; the same key with another request is refused (409
``idempotency_key_reused``).

How a capability uses it (applications, housing fund, bundles and notifications' consent reports do;
so will the next ones):

    claim = Claim(scope="bundles", person_id=..., key=idempotency_key, request_hash=fingerprint(body))
    return await once(claim, write=..., replay=...)

``write()`` opens the write's transaction and calls ``await record(conn, claim, now,
result=...)`` in it, with the reference of what it wrote (an application number, a run number);
``replay(result)`` turns that reference back into the answer. ``once`` asks first, writes, and
when the write fails because a concurrent copy committed first (its key row is unique: ours
waited on it and failed, or our own checks saw what the copy did) answers the copy's result.

The pure part — is this the same request? — is ``judge``; the rows live in ``idempotency_keys``
(``domain/shared/models.py``).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from domain.shared.errors import IdempotencyKeyReused
from domain.shared.models import IdempotencyKey
from domain.shared.rows import placeholders

T = TypeVar("T")


@dataclass(frozen=True)
class Claim:
    """A key sent with one request: whose, for which capability, what was asked."""

    scope: str
    person_id: str
    key: str
    request_hash: str
    operation: str = "submit"


@dataclass(frozen=True)
class FirstUse:
    """What a key was first used for."""

    operation: str
    request_hash: str
    result: str | None


def fingerprint(value: Any) -> str:
    """Same request (whatever its key order or spacing) -> same fingerprint."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False,
                                     separators=(",", ":")).encode()).hexdigest()


def judge(first: FirstUse, claim: Claim) -> str:
    """The first result again if ``claim`` asks what the key was first used for; else the refusal."""
    if first.operation != claim.operation or first.request_hash != claim.request_hash or first.result is None:
        raise reused()
    return first.result


def reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused("同一 Idempotency-Key 只能用于同一请求；新的请求请使用新的值")


async def first_result(claim: Claim) -> str | None:
    """The first result's reference under this key; None if the key is new."""
    row = await IdempotencyKey.get_or_none(scope=claim.scope, person_id=claim.person_id, key=claim.key)
    return None if row is None else judge(_first_use(row), claim)


async def record(conn: BaseDBAsyncClient, claim: Claim, now: datetime, *, result: str) -> None:
    """The key, on ``conn``, in the transaction of the write it keys. A concurrent copy's insert
    waits on this unique row, then fails with IntegrityError (and ``once`` answers our result)."""
    await IdempotencyKey.create(using_db=conn, **row_of(claim, now, result=result))


def row_of(claim: Claim, now: datetime, *, result: str) -> dict[str, Any]:
    """The key's row, for a writer that inserts many at once (``domain.shared.rows.insert_rows``)."""
    return {"scope": claim.scope, "person_id": claim.person_id, "key": claim.key, "operation": claim.operation,
            "request_hash": claim.request_hash, "result": result, "created_at": now}


async def first_uses(scope: str, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], FirstUse]:
    """What these (person, key) pairs were first used for, in one query (a batch of writes)."""
    wanted = set(pairs)
    if not wanted:
        return {}
    connection = connections.get("default")
    rows = await connection.execute_query_dict(*first_uses_query(connection, scope, wanted))
    return {(r["person_id"], r["key"]): FirstUse(operation=r["operation"], request_hash=r["request_hash"],
                                                 result=r["result"]) for r in rows}


def first_uses_query(connection: BaseDBAsyncClient, scope: str, wanted: set[tuple[str, str]]) -> tuple[str, list]:
    """The query and its values: one lookup in the unique index per pair, whatever the statistics.

    On PostgreSQL the pairs go as two arrays, each pair probing the index from a LATERAL subquery.
    Its ``LIMIT 1`` changes no answer (the index is unique) but keeps PostgreSQL from folding the
    subquery into a join it may plan another way. Spelled out as an OR of pairs, the planner took
    ``scope`` for selective without statistics (one scope holds every submit's key) and, past
    twenty pairs, read every key of the scope and filtered: 50 ms a batch with 26,000 keys, growing
    with the table (docs/benchmarks.md, "Submit throughput"); two IN lists did so past a few. One
    statement for every batch size, too: PostgreSQL prepares and plans it once, not per size.
    SQLite plans the OR of pairs as one index lookup each. Written as SQL: Tortoise built the OR
    at ~60 µs a pair, a tenth of a busy hub's time in batches of submissions."""
    pairs = sorted(wanted)
    if connection.capabilities.dialect == "postgres":
        sql = ('SELECT k.person_id, k."key", k.operation, k.request_hash, k.result '
               'FROM unnest($2::varchar[], $3::varchar[]) AS wanted (person_id, "key") '
               "CROSS JOIN LATERAL (SELECT * FROM idempotency_keys WHERE scope = $1 "
               'AND person_id = wanted.person_id AND "key" = wanted."key" LIMIT 1) AS k')
        return sql, [scope, [person for person, _ in pairs], [key for _, key in pairs]]
    marks = placeholders(connection, 1 + 2 * len(pairs))
    either = " OR ".join(f'(person_id = {marks[1 + 2 * i]} AND "key" = {marks[2 + 2 * i]})' for i in range(len(pairs)))
    sql = ('SELECT person_id, "key", operation, request_hash, result FROM idempotency_keys '
           f"WHERE scope = {marks[0]} AND ({either})")
    return sql, [scope, *(value for pair in pairs for value in pair)]


async def forget(scope: str, *, before: datetime) -> int:
    """Drop a capability's keys recorded before ``before`` (where a retry comes within seconds and
    keys need not outlive a day, e.g. consent reports); how many were dropped."""
    return await IdempotencyKey.filter(scope=scope, created_at__lt=before).delete()


async def once(claim: Claim, *, write: Callable[[], Awaitable[T]], replay: Callable[[str], Awaitable[T]],
               retry_on: tuple[type[BaseException], ...] = (IntegrityError,)) -> T:
    """``write`` once per key: a key used before answers ``replay`` of its first result, also when
    ``write`` fails with one of ``retry_on`` because a concurrent copy committed first."""
    if (result := await first_result(claim)) is not None:
        return await replay(result)
    try:
        return await write()
    except retry_on:
        if (result := await first_result(claim)) is not None:
            return await replay(result)
        raise


def _first_use(row: IdempotencyKey) -> FirstUse:
    return FirstUse(operation=row.operation, request_hash=row.request_hash, result=row.result)
