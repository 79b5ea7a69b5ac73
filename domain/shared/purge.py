"""Deleting what piled up, a bounded number of rows a statement.

A housekeeping job that deletes everything past a cutoff in one statement holds its locks and
writes its WAL for as long as that takes: at the seed's scale an hour's expired refresh tokens are
millions of rows (one is rotated on every use). Here each statement takes at most ``batch`` rows,
found oldest first through an index on the column the cutoff is on, and commits on its own, so
logins and refreshes writing the same table never wait behind the job for long.
"""
from __future__ import annotations

from datetime import datetime

from tortoise.models import Model

PURGE_BATCH = 5_000  # rows a statement


def expired(model: type[Model], column: str, cutoff: datetime, *, batch: int):
    """The next ids to delete: rows whose ``column`` is before ``cutoff``, oldest first."""
    return (model.filter(**{f"{column}__lt": cutoff}).order_by(column).limit(batch)
            .values_list(model._meta.pk_attr, flat=True))


async def purge_before(model: type[Model], column: str, cutoff: datetime, *, batch: int = PURGE_BATCH) -> int:
    """Delete ``model``'s rows whose ``column`` is before ``cutoff``, ``batch`` rows a statement;
    how many were deleted."""
    deleted = 0
    while True:
        ids = await expired(model, column, cutoff, batch=batch)
        if ids:
            deleted += await model.filter(**{f"{model._meta.pk_attr}__in": ids}).delete()
        if len(ids) < batch:
            return deleted
