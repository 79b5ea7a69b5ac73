"""Each citizen's count of open applications (the home page's "my open items"), kept in this process.

A logged-in home page is the busiest page a citizen opens, and counting their open applications
in the database on every view was most of its time (docs/benchmarks.md, "Logged-in home"). The
count changes only when one of the citizen's applications changes status, and every such change
is announced by ``Transitions`` to its listeners: this is one of them. It forgets the citizens a
change names, here at once and in every other process through the change feed (Redis pub/sub).

The rules, those of ``domain/shared/followed.py`` for one value, kept per citizen:
- counts are kept only while the feed is subscribed (``live``): a dropped subscription may have
  missed a change, so until it is back every read goes to the database;
- a count older than ``max_age`` seconds is read again: the bound on a change whose announcement
  was lost (Redis down when it was made);
- listeners are told inside the changing transaction, before it commits: a read of the database
  made between the announcement and the commit sees the count from before. So a count is kept
  only if its read began ``settle`` seconds or more after the citizen's last announced change;
  until then each read goes to the database (a transaction commits within moments of announcing).
Without a feed (one process on its own: a script, a test) counts are kept for ``max_age`` and this
process's own changes are all there are.
"""
from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from domain.applications.ports import TransitionNotice
from domain.shared.errors import UpstreamUnavailable
from domain.shared.followed import Feed
from domain.shared.per_turn import PerTurn

log = logging.getLogger("govhub.applications")

MAX_KEPT = 200_000  # citizens whose count is kept (~100 bytes each); more: start again


class OpenCounts:
    def __init__(self, load: Callable[[list[str]], Awaitable[dict[str, int]]], *, feed: Feed | None,
                 max_age: float = 60.0, settle: float = 2.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        """``load(persons)``: their counts (a person with none may be missing). The citizens whose
        count is asked during one turn of the event loop are counted by one call (per_turn.py)."""
        self._loads: PerTurn[str, int] = PerTurn(lambda persons: _in_order(load, persons))
        self._feed = feed
        self._max_age, self._settle, self._monotonic = max_age, settle, monotonic
        self._kept: dict[str, tuple[float, int]] = {}  # person -> (when its read began, count)
        self._changed: dict[str, float] = {}  # person -> when a change of theirs was last announced
        self._origin = secrets.token_hex(8)
        self._publishing: set[asyncio.Task] = set()
        self.live = feed is None

    async def get(self, person_id: str) -> int:
        began = self._monotonic()
        kept = self._kept.get(person_id)
        if kept is not None and began - kept[0] <= self._max_age:
            return kept[1]
        count = await self._loads.ask(person_id)
        if self.live and began >= self._changed.get(person_id, -self._settle) + self._settle:
            if len(self._kept) >= MAX_KEPT:
                self._kept.clear()
            self._kept[person_id] = (began, count)
        return count

    # --- told of changes ------------------------------------------------------------------------

    async def on_transitions(self, notices: Sequence[TransitionNotice], *, connection: Any) -> None:
        """A TransitionListener: forget the citizens named, here and (without waiting: this runs
        inside the changing transaction) in the other processes."""
        persons = sorted({notice.person_id for notice in notices})
        self.forget(persons)
        if self._feed is not None:
            # a context of its own: never inside the caller's transaction
            task = asyncio.get_running_loop().create_task(self._publish(persons), context=contextvars.Context())
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    def forget(self, persons: Sequence[str]) -> None:
        now = self._monotonic()
        if len(self._changed) >= MAX_KEPT:  # only the last settle seconds' changes matter
            self._changed = {p: at for p, at in self._changed.items() if now - at < self._settle}
        for person in persons:
            self._kept.pop(person, None)
            self._changed[person] = now

    async def _publish(self, persons: list[str]) -> None:
        try:
            await self._feed.publish({"persons": persons, "origin": self._origin})
        except UpstreamUnavailable:
            log.warning("open applications of %s citizens changed but the change feed is unavailable; other "
                        "instances catch up within %s s", len(persons), self._max_age)

    # --- following the others ---------------------------------------------------------------------

    def set_live(self, live: bool) -> None:
        """The feed (re)subscribed or dropped: either way, forget every kept count."""
        self._kept.clear()
        self.live = live

    async def follow_changes(self) -> None:
        """Run for the life of a serving process (a background task); returns at once without a feed."""
        if self._feed is None:
            return

        def on_message(message: dict) -> None:
            persons = message.get("persons")
            if message.get("origin") != self._origin and isinstance(persons, list):
                self.forget([p for p in persons if isinstance(p, str)])

        await self._feed.follow(on_message=on_message, on_subscribed=lambda: self.set_live(True),
                                on_lost=lambda: self.set_live(False))


async def _in_order(load: Callable[[list[str]], Awaitable[dict[str, int]]], persons: list[str]) -> list[int]:
    counts = await load(persons)
    return [counts.get(person, 0) for person in persons]
