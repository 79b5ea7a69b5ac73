"""Storing a submission, apart from its rows: what passes from the check to the write
(``Submission``, ``Intake``, ``Written``), its Idempotency-Key — claimed alone or for a batch,
answered again on a replay, refused for another body — and its number from the day's counter.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from domain.applications.materials import Resolved
from domain.applications.views import ApplicationView
from domain.shared import idempotency
from domain.shared.errors import IdempotencyKeyReused
from domain.shared.idempotency import Claim, FirstUse
from domain.shared.rows import placeholders


@dataclass(frozen=True)
class Submission:
    """A submission that passed every check, ready to store."""

    person_id: str
    channel: str
    form: dict
    applicant: Any  # the identity service's Applicant; None until read (SubmissionWriter._with_applicants)
    matter: Any  # the catalog's matter
    node_code: str
    materials: list[Resolved]
    node_name: str
    entry: str = "application"  # the capability submitting it (rules.ENTRIES), recorded on the application


@dataclass(frozen=True)
class Intake:
    """A checked submission waiting to be written, with its Idempotency-Key."""

    checked: Submission
    key: str
    request_hash: str


@dataclass(frozen=True)
class Written:
    """What writing a submission came to: its number, whether it was the first result again, and
    the view when the writer built it from what it wrote (else the caller reads it)."""

    number: str
    replayed: bool
    view: ApplicationView | None = None


# --- the Idempotency-Key (domain/shared/idempotency.py) ---------------------------------------

SCOPE = "applications"  # the keys of applications' writes: submit, withdraw:<number>, resubmit:<number>


def key_claim(person_id: str, key: str, operation: str, request_hash: str) -> Claim:
    return Claim(scope=SCOPE, person_id=person_id, key=key, request_hash=request_hash, operation=operation)


async def replay_of(person_id: str, key: str, operation: str, request_hash: str) -> str | None:
    """The first result's application number for this key, or None if the key is new."""
    return await idempotency.first_result(key_claim(person_id, key, operation, request_hash))


async def claim_key(conn: BaseDBAsyncClient, person_id: str, key: str, operation: str, request_hash: str,
                    now: datetime, number: str) -> None:
    """Record the key on ``conn``, in the transaction of the write it keys (a concurrent duplicate
    waits on the unique row, then fails and answers the first result)."""
    await idempotency.record(conn, key_claim(person_id, key, operation, request_hash), now, result=number)


def key_rows(intakes: Sequence[Intake], numbers: Sequence[str], now: datetime) -> list[dict]:
    """The keys of a batch of submissions, for one multi-row insert."""
    return [idempotency.row_of(key_claim(i.checked.person_id, i.key, "submit", i.request_hash), now, result=number)
            for i, number in zip(intakes, numbers)]


def answer_again(number: str | None, operation: str, first_hash: str, request_hash: str) -> Written | Exception:
    """A submit under a key already used: the first result, or the refusal to give it to another body."""
    try:
        return Written(idempotency.judge(FirstUse(operation, first_hash, number),
                                         key_claim("", "", "submit", request_hash)), replayed=True)
    except IdempotencyKeyReused as refused:
        return refused


async def claims(intakes: Sequence[Intake], results: list) -> dict[tuple[str, str], int]:
    """Who in a batch writes its key, among the items with no result yet: an item whose key was
    used before gets that answer in ``results``; returns (person, key) -> the index of the first
    item that writes it (the others with that key answer its result)."""
    first: dict[tuple[str, str], int] = {}
    open_items = [index for index, result in enumerate(results) if result is None]
    earlier = await idempotency.first_uses(SCOPE, [(intakes[i].checked.person_id, intakes[i].key)
                                                   for i in open_items])
    for index in open_items:
        intake = intakes[index]
        claim = (intake.checked.person_id, intake.key)
        if claim in earlier:
            use = earlier[claim]
            results[index] = answer_again(use.result, use.operation, use.request_hash, intake.request_hash)
        elif claim not in first:
            first[claim] = index
    return first


# --- the number -------------------------------------------------------------------------------


async def next_sequences(day: date, counts: dict[str, int]) -> dict[str, int]:
    """Per region (6 digits), the first of its next ``count`` numbers of the day: one atomic
    multi-row upsert in a transaction of its own, whatever the regions of a batch.

    Not in the submitting transaction: the counter row would stay locked until that commits, and
    every submission of a region's day would wait for the one before it, the server idle meanwhile
    (measured: docs/benchmarks.md, "Submit throughput"). The price: a submission that fails after this
    leaves a gap in the day's numbers. Numbers stay unique and are never reused. Regions go in one
    order, so two batches never lock each other's rows crosswise."""
    conn = Tortoise.get_connection("default")
    regions = sorted(counts)
    marks = placeholders(conn, 3 * len(regions))
    rows = ", ".join(f"({', '.join(marks[3 * i:3 * i + 3])})" for i in range(len(regions)))
    sql = (f"INSERT INTO application_number_sequences (region6, day, last_value) VALUES {rows} "
           "ON CONFLICT (region6, day) DO UPDATE "
           "SET last_value = application_number_sequences.last_value + excluded.last_value "
           "RETURNING region6, last_value")
    values = [v for region in regions for v in (region, f"{day:%Y%m%d}", counts[region])]
    taken = await conn.execute_query_dict(sql, values)  # fetches on both backends
    return {row["region6"]: int(row["last_value"]) - counts[row["region6"]] + 1 for row in taken}


# --- a caller's transaction -------------------------------------------------------------------


def in_callers_transaction() -> bool:
    """Is this call inside a transaction a caller opened (``in_transaction``)?"""
    return isinstance(connections.get("default"), TransactionalDBClient)
