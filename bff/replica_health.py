"""Whether the read replica may answer now: up or down, how far behind, when to look again.

Pure: times are the caller's monotonic seconds, positions are WAL LSNs as integers. The I/O (the
probe queries) is in ``bff/read_replica.py``; docs/read-replica.md says why the rules are these.

How far behind, without trusting either clock: each probe reads the primary's WAL position P at
time t, then the replica's replay position R. Every commit the primary made before t is on the
replica once R >= P(t). The ``horizon`` is the latest such t: the replica holds everything
committed before it. A read at ``now`` may go to the replica only while ``now - horizon <= max_lag``,
so it may miss at most the commits of the last ``max_lag`` seconds — which is why a person who
wrote is kept on the primary for longer than that (``stickiness``).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

FIRST_BACKOFF = 0.25  # seconds before the first look at a replica that failed
MAX_BACKOFF = 10.0  # the longest wait between looks at a replica that stays down
MARGIN = 1.0  # seconds a person's marker outlives max_lag: the probe's own time, Redis's clock


def lsn(text: str) -> int:
    """``'16/B374D848'`` (PostgreSQL's pg_lsn) as one integer, for comparing positions."""
    high, _, low = text.partition("/")
    return (int(high, 16) << 32) | int(low, 16)


def stickiness(max_lag: float) -> float:
    """Seconds a person stays on the primary after a write: past that, any replica the router
    uses (at most max_lag behind) already holds the write."""
    return max_lag + MARGIN


def probe_interval(max_lag: float) -> float:
    """Often enough that a healthy replica's horizon stays well inside max_lag."""
    return min(0.5, max_lag / 4)


@dataclass
class ReplicaHealth:
    max_lag: float
    up: bool = False  # nothing goes to the replica before its first good probe
    horizon: float | None = None
    failures: int = 0
    next_look: float = 0.0  # when the probe should look next (monotonic)
    # (t, P(t)) of probes the replica has not reached yet, oldest first
    pending: deque[tuple[float, int]] = field(default_factory=deque)

    def usable(self, now: float) -> bool:
        return self.up and self.horizon is not None and now - self.horizon <= self.max_lag

    def lag(self, now: float) -> float | None:
        """Seconds of commits the replica may be missing; None while it is down."""
        return now - self.horizon if self.up and self.horizon is not None else None

    def probed(self, *, started: float, primary_lsn: int, replica_lsn: int) -> None:
        """A probe that began at ``started`` read the primary at ``primary_lsn``, then the replica
        at ``replica_lsn``."""
        self.pending.append((started, primary_lsn))
        while self.pending and self.pending[0][1] <= replica_lsn:
            self.horizon = self.pending.popleft()[0]
        self.up, self.failures = True, 0
        self.next_look = started + probe_interval(self.max_lag)

    def failed(self, now: float) -> bool:
        """The replica did not answer (a probe or a read). Reads go to the primary at once; the
        next look waits, doubling up to MAX_BACKOFF. True when this changed the state to down."""
        was_up = self.up
        self.up, self.horizon = False, None
        self.pending.clear()
        self.failures += 1
        self.next_look = now + min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** (self.failures - 1))
        return was_up

    def lost(self, now: float) -> bool:
        """A read on the replica failed. Only the first of the reads in flight counts: the others
        failed for the same reason, and must not lengthen the backoff."""
        return self.failed(now) if self.up else False
