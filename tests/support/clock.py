"""The suite's clock: the wall clock, or a moved one when the suite is run "at" another time.

``GOVHUB_TEST_NOW=2026-12-31T15:59:30+00:00 make test`` runs every test as if it were that moment
(real seconds still pass). The offset is computed once, here, and put in ``GOVHUB_CLOCK_OFFSET``
before any process starts, so the hub, the department stub, the mock platforms and the journeys all
agree on the time. Tests read time from ``suite_clock`` (fixture ``suite_clock``), never the wall.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone

from domain.shared.clock import OFFSET_VARIABLE, Clock, offset_from


def _offset() -> int:
    target = os.environ.get("GOVHUB_TEST_NOW", "").strip()
    if target:
        at = datetime.fromisoformat(target)
        if at.tzinfo is None:
            raise ValueError("GOVHUB_TEST_NOW needs a time zone, e.g. 2026-12-31T23:59:00+08:00")
        return round((at - datetime.now(timezone.utc)).total_seconds())
    return round(offset_from(os.environ.get(OFFSET_VARIABLE)))


OFFSET = _offset()
os.environ[OFFSET_VARIABLE] = str(OFFSET)  # inherited by every process the suite starts
suite_clock = Clock(OFFSET)


def scheduler_seconds() -> float:
    """The seconds the scheduler cuts its tick windows from (adapters/scheduler/runner.py reads the
    host's clock: windows are shared by every host, so they cannot follow the suite's offset). For
    elapsed time and window phases only — never a date."""
    import time

    return time.time()
