"""Events nodes post back (a department about an application, a fund centre about a payout),
one mechanism for every capability: an event id seen again gets the same answer and no second
effect; the same id with another body is refused (409 ``event_id_reused``).

Each capability keeps its events in a table of its own, since what it keeps of an event is its
own (applications hold early events until their predecessors come); every such table has
``node_code``, ``event_id`` (unique together), ``body_hash`` and ``answer`` (JSON). Use:

    answer, replayed = await node_events.once(PayoutEvent, node_code=..., event_id=...,
                                              body_hash=fingerprint(body), apply=apply)

where ``apply()`` opens the transaction that takes the event's effect, writes its row with the
answer, and returns that answer. A copy racing in fails on the unique row and answers the first.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from domain.shared.errors import EventIdReused


def judge(event_id: str, first_body_hash: str, body_hash: str) -> None:
    """Refuse an event id sent again with another body."""
    if first_body_hash != body_hash:
        raise EventIdReused(f"事件编号 {event_id} 已用于另一事件")


async def first_answer(table: type[Model], *, node_code: str, event_id: str, body_hash: str) -> dict | None:
    """The answer given to this event the first time; None if it is new."""
    event: Any = await table.get_or_none(node_code=node_code, event_id=event_id)
    if event is None:
        return None
    judge(event_id, event.body_hash, body_hash)
    return dict(event.answer)


async def once(table: type[Model], *, node_code: str, event_id: str, body_hash: str,
               apply: Callable[[], Awaitable[dict]]) -> tuple[dict, bool]:
    """``apply`` the event once: the answer, and whether it is the first answer given again."""
    if (first := await first_answer(table, node_code=node_code, event_id=event_id, body_hash=body_hash)) is not None:
        return first, True
    try:
        return await apply(), False
    except IntegrityError:  # the same event raced in from another request: answer the first
        if (first := await first_answer(table, node_code=node_code, event_id=event_id,
                                        body_hash=body_hash)) is not None:
            return first, True
        raise
