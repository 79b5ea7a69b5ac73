"""Page cursors: where the next page of a newest-first (or ranked) list starts, handed to the
client as an opaque token and read back with suspicion.

A cursor is the position of the last row shown, a few integers (an id; a search hit's step,
quality, popularity and id), as URL-safe base64 of their JSON without padding. It is opaque, not
secret: a client that edits one gets its own rows from another position, never someone else's,
because every list filters by its owner first. What is checked is its shape: anything that is
not the expected number of integers is ``InvalidCursor`` (400 ``invalid_cursor``).
"""
from __future__ import annotations

import base64
import binascii
import json

from domain.shared.errors import InvalidCursor


def write(*position: int) -> str:
    """The token of ``position``: one integer, or several in a fixed order."""
    value = position[0] if len(position) == 1 else list(position)
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def read(cursor: str, *, size: int = 1) -> tuple[int, ...]:
    """The ``size`` integers of a token ``write`` made; ``InvalidCursor`` for anything else."""
    try:
        value = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("分页参数无效") from None
    position = (value,) if size == 1 else value
    if (not isinstance(position, (list, tuple)) or len(position) != size
            or not all(type(v) is int for v in position)):  # a bool is not a position
        raise InvalidCursor("分页参数无效")
    return tuple(position)


def read_id(cursor: str) -> int:
    """The row id of a newest-first list's cursor (ids start at 1)."""
    [last_id] = read(cursor)
    if last_id < 1:
        raise InvalidCursor("分页参数无效")
    return last_id


async def newest_first(query, *, cursor: str | None, limit: int) -> tuple[list, str | None]:
    """One page of a query's rows by descending id, after ``cursor``, and the next page's cursor
    (None on the last): one row more than the page is read to know whether another page follows."""
    if cursor:
        query = query.filter(id__lt=read_id(cursor))
    rows = await query.order_by("-id").limit(limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, write(rows[-1].id) if more and rows else None
