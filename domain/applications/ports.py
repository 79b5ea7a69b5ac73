"""What applications need from outside, and the seams later capabilities plug into.

- ``MaterialStore``: where uploaded files live (local directory by default: adapters/storage/local.py).
- ``LicenseWallet``: the citizen's e-licenses (domain/licenses provides it; until it is wired, the
  ``EmptyWallet`` answers that the citizen holds none, so materials are uploaded instead).
- ``InstantApproval``: a step ``submit`` consults before handing an application to a department;
  it may decide at once (秒批). ``ManualReviewOnly`` never does.
- ``TransitionListener``: told of every status change inside the transaction that makes it (the
  notifications' outbox rows are written there, so a rollback sends nothing). ``TransitionListeners``
  is the list of them the service is built with.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol


class MaterialStore(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        """Store the bytes under ``key`` (written whole or not at all)."""

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...


@dataclass(frozen=True)
class LicenseRef:
    """An e-license the citizen holds, as a material of an application names it."""

    license_id: str
    license_type: str  # e.g. resident_id_card, business_license (the catalog's license types)
    title: str


class LicenseWallet(Protocol):
    async def holds(self, *, person_id: str, license_id: str) -> LicenseRef | None:
        """The license if this person holds it and it is valid; None otherwise (never another's)."""


class EmptyWallet:
    """No e-licenses yet: every reference is refused with a clear message."""

    async def holds(self, *, person_id: str, license_id: str) -> LicenseRef | None:
        return None


@dataclass(frozen=True)
class ApprovalRequest:
    """What an instant-approval step sees of a submission (inside the submit transaction)."""

    number: str
    person_id: str
    assurance: int
    matter_code: str
    catalog_code: str
    matter_instant_approval: bool
    region_code: str
    department_code: str
    form: dict[str, Any]
    materials: list[dict[str, Any]]
    submitted_at: datetime


@dataclass(frozen=True)
class ApprovalDecision:
    """``approved``: the application is accepted, approved and completed at once by the system.
    ``checks`` say, in plain Chinese, which rules passed and which did not; ``results`` carry what
    the approval produced (a credit code, a license id). ``approved=False`` sends it to the
    department like any other application, with the checks kept for the reviewer."""

    approved: bool
    checks: list[dict[str, Any]] = field(default_factory=list)
    results: dict[str, Any] = field(default_factory=dict)


class InstantApproval(Protocol):
    async def decide(self, request: ApprovalRequest, *, connection: Any) -> ApprovalDecision | None:
        """None: not for this step (most matters); a decision otherwise."""


class ManualReviewOnly:
    async def decide(self, request: ApprovalRequest, *, connection: Any) -> ApprovalDecision | None:
        return None


@dataclass(frozen=True)
class TransitionNotice:
    """One status change, as listeners (notifications) need it. ``new``: the change is the
    application's submission, in the transaction that created it — nothing about it was stored
    before, so a listener has nothing of it to look up (a batch of submissions skips those reads)."""

    number: str
    person_id: str
    channel: str
    matter_name: str
    transition: str
    from_status: str | None
    to_status: str
    at: datetime
    reason: str | None
    due_on: date | None
    new: bool = False


class TransitionListener(Protocol):
    async def on_transitions(self, notices: Sequence[TransitionNotice], *, connection: Any) -> None:
        """Changes written on ``connection``'s transaction: one application's, or a batch of new
        submissions' (group commit). Write on ``connection`` so they commit or roll back together."""


class TransitionListeners:
    """Who is told of every status change, in the order they joined. The composition root creates
    it and hands it to ``ApplicationService`` before every listener exists: bundles listen to
    applications' transitions but also submit through them, so they join once both are built
    (bff/container.py)."""

    def __init__(self, *listeners: TransitionListener) -> None:
        self._listeners = list(listeners)

    def join(self, listener: TransitionListener) -> None:
        self._listeners.append(listener)

    def __iter__(self) -> Iterator[TransitionListener]:
        return iter(self._listeners)
