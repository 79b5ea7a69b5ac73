"""Application use cases: submit, follow, withdraw, resubmit after correction, upload materials,
and apply the events departments post back (docs/applications.md). Each has its module: checking
a submission ``submission.py``, writing it ``writer.py`` (with its keys and numbers in
``intake.py``), materials ``materials.py``, departments' events ``department_events.py``, and the
one way a status changes ``transitions.py``. This class is what other modules call.

Guarantees, and what makes them hold:
- **One submission, one application, one number.** ``submit`` claims the citizen's
  ``Idempotency-Key`` (a unique row) in the same transaction as the application, its transitions
  and its outbox delivery; a concurrent duplicate waits on that row and then answers the first
  result. Numbers come from a per-region, per-day counter, taken just before in a transaction of
  its own (a number never repeats; a failed submission leaves a gap).
- **Every change recorded and announced once.** Every status change goes through
  ``Transitions.take``: it checks the state machine, bumps the version, writes the transition and
  tells the listeners (notifications) on the same connection.
- **Departments' events never move an application backwards**: ``rules.classify_event`` and
  ``rules.settle`` decide; every event is kept, its first answer replayed.
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from domain.applications import material_rules, rules
from domain.applications.department_events import DepartmentEvents
from domain.applications.errors import ApplicationNotFound
from domain.applications.intake import Intake, claim_key, replay_of
from domain.applications.materials import Materials
from domain.applications.materials import payload as material_payload
from domain.applications.models import Application, Material, Transition
from domain.applications.open_counts import OpenCounts
from domain.applications.ports import (
    InstantApproval,
    LicenseWallet,
    ManualReviewOnly,
    MaterialStore,
    TransitionListeners,
)
from domain.applications.sealing import open_form, person_ref, seal_form
from domain.applications.submission import RecentReads, SubmissionCheck
from domain.applications.transitions import Actor, Transitions, under_lock
from domain.applications.views import (
    ApplicationPage,
    ApplicationView,
    EventOutcome,
    ListFilters,
    MaterialContent,
    MaterialView,
    SubmitResult,
    application_view,
    material_view,
    progress_of,
    transition_view,
)
from domain.applications.writer import INSTANT_ACTOR, SubmissionWriter
from domain.nodes.errors import NodeNotFound
from domain.shared import cursors
from domain.shared.clock import Clock, beijing_day_start
from domain.shared.errors import DomainError, IdempotencyKeyRequired
from domain.shared.followed import Feed
from domain.shared.vault import Vault

log = logging.getLogger("govhub.applications")

DEFAULT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
MAX_PAGE = 50


@dataclass(frozen=True)
class ApplicationCounts:
    submitted: dict[str, int]  # by channel
    completed: int
    instant_approvals: int


class ApplicationService:
    def __init__(self, *, clock: Clock, vault: Vault, catalog, nodes, identity, delivery,
                 store: MaterialStore, wallet: LicenseWallet | None = None,
                 approval: InstantApproval | None = None, listeners: TransitionListeners | None = None,
                 upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES, feed: Feed | None = None) -> None:
        """``catalog``, ``nodes``, ``identity``, ``delivery``: those modules' services; ``wallet``
        (licenses), ``approval`` (秒批) and ``listeners`` (notifications, bundles): ports.py;
        ``feed``: the change feed between processes for the open-items counts (open_counts.py)."""
        self.clock, self.vault = clock, vault
        self.catalog, self.nodes, self.identity, self.delivery = catalog, nodes, identity, delivery
        self.materials = Materials(clock=clock, store=store, wallet=wallet, upload_max_bytes=upload_max_bytes)
        self.approval: InstantApproval = approval or ManualReviewOnly()
        self.listeners = listeners if listeners is not None else TransitionListeners()
        self.transitions = Transitions(clock=clock, listeners=self.listeners)
        self.reads = RecentReads(catalog=catalog, nodes=nodes)
        self.checks = SubmissionCheck(reads=self.reads, materials=self.materials)
        self.writer = SubmissionWriter(vault=vault, identity=identity, catalog=catalog, delivery=delivery,
                                       materials=self.materials, transitions=self.transitions,
                                       approval=self.approval)
        self.department_events = DepartmentEvents(transitions=self.transitions)
        self.open_counts = OpenCounts(self._count_open, feed=feed)
        self.listeners.join(self.open_counts)

    # --- submit -----------------------------------------------------------------------------

    async def submit(self, *, person_id: str, channel: str, matter_code: str, form: dict,
                     materials: Sequence[dict], idempotency_key: str | None,
                     entry: str = rules.PLAIN) -> SubmitResult:
        """Check, then write (``SubmissionWriter``: with the others arriving meanwhile, or nested
        in the caller's transaction, if any). A key seen before answers its first result.

        ``entry`` is the capability calling (``rules.ENTRIES``): the plain route, the housing fund
        or a bundle. A matter another capability owns is refused (``matter_entry_not_allowed``)
        before anything is stored; the least privileged entry is the default."""
        if not idempotency_key:
            raise IdempotencyKeyRequired("提交申请须带 Idempotency-Key 请求头（每次新申请一个新值，重试时不变）")
        request = {"matter_code": matter_code, "form": form, "materials": list(materials)}
        if entry != rules.PLAIN:  # a key never answers another capability's request (plain hashes as before)
            request["entry"] = entry
        request_hash = rules.fingerprint(request)
        try:
            checked = await self.checks.check(person_id=person_id, channel=channel, matter_code=matter_code,
                                              form=form, materials=materials, entry=entry)
            written = await self.writer.write(Intake(checked, idempotency_key, request_hash))
        except (DomainError, IntegrityError):
            # A duplicate of this very request may have committed meanwhile: its key is claimed (our
            # insert failed) or its upload is taken (our check failed). Answer the first result.
            if (number := await replay_of(person_id, idempotency_key, "submit", request_hash)) is not None:
                return SubmitResult(await self.detail(person_id=person_id, number=number), replayed=True)
            raise
        if not written.replayed:
            log.info("application %s submitted: %s -> node %s", written.number, matter_code, checked.node_code)
        view = written.view or await self.detail(person_id=person_id, number=written.number)
        return SubmitResult(view, replayed=written.replayed)

    def forget_memos(self) -> None:
        """Drop the few seconds' memory of matters and handling nodes (``RecentReads``): for a
        store emptied under a running hub (the test harness), where they would answer from before."""
        self.reads.forget()

    async def counted(self) -> None:
        """Wait until the popularity counts of written batches are sent (tests; shutdown)."""
        await self.writer.counted()

    async def check_entry(self, *, matter_code: str, entry: str) -> None:
        """Refuse now what ``submit`` would refuse for ``entry`` (a bundle's retry asks before it
        resets its steps). Retired matters are judged too: their record still says who owns them."""
        matter = await self.catalog.any_matter(code=matter_code)
        rules.check_entry(matter_code=matter.code, matter_name=matter.name, matter_entry=matter.entry, entry=entry)

    def person_ref(self, person_id: str) -> str:
        """How departments know a person (``sealing.person_ref``)."""
        return person_ref(self.vault, person_id)

    # --- the citizen's own ------------------------------------------------------------------

    async def list_own(self, *, person_id: str, filters: ListFilters = ListFilters(),
                       cursor: str | None = None, limit: int = 20) -> ApplicationPage:
        query = Application.filter(person_id=person_id)
        if filters.status == "open":
            query = query.filter(status__in=sorted(rules.OPEN))
        elif filters.status == "closed":
            query = query.filter(status__in=sorted(rules.TERMINAL))
        elif filters.status:
            query = query.filter(status=filters.status)
        if filters.matter_code:
            query = query.filter(matter_code=filters.matter_code)
        if filters.submitted_from:
            query = query.filter(submitted_at__gte=beijing_day_start(filters.submitted_from))
        if filters.submitted_until:
            query = query.filter(submitted_at__lt=beijing_day_start(filters.submitted_until + timedelta(days=1)))
        rows, next_cursor = await cursors.newest_first(query, cursor=cursor, limit=max(1, min(limit, MAX_PAGE)))
        today = self.transitions.today()
        return ApplicationPage(items=[application_view(a, today) for a in rows], next_cursor=next_cursor)

    async def detail(self, *, person_id: str, number: str) -> ApplicationView:
        return await self._detail(await self._own(person_id, number))

    async def open_count(self, person_id: str) -> int:
        """The home page's "my open items": submitted and not yet finished (kept per citizen until
        one of their applications changes: open_counts.py)."""
        return await self.open_counts.get(person_id)

    async def _count_open(self, person_ids: list[str]) -> dict[str, int]:
        rows = await (Application.filter(person_id__in=person_ids, status__in=sorted(rules.OPEN))
                      .annotate(n=Count("id")).group_by("person_id").values_list("person_id", "n"))
        return dict(rows)

    async def counts(self, *, since: datetime, until: datetime) -> ApplicationCounts:
        """Applications submitted in [since, until) per channel, completed (办结) and approved by
        秒批 then: the platform's figures (domain/figures)."""
        submitted = await (Application.filter(submitted_at__gte=since, submitted_at__lt=until)
                           .annotate(n=Count("id")).group_by("channel").values_list("channel", "n"))
        completed = await Application.filter(status=rules.COMPLETED, closed_at__gte=since, closed_at__lt=until).count()
        instant = await Transition.filter(name="approve", actor_kind=rules.SYSTEM, actor_id=INSTANT_ACTOR,
                                          at__gte=since, at__lt=until).count()
        return ApplicationCounts(submitted=dict(submitted), completed=completed, instant_approvals=instant)

    async def _own(self, person_id: str, number: str) -> Application:
        app = None
        if isinstance(number, str):
            app = await Application.get_or_none(**rules.by_number(number), person_id=person_id)
        if app is None:  # another person's number looks exactly like one that does not exist
            raise ApplicationNotFound(f"未找到办件 {number}")
        return app

    async def _detail(self, app: Application) -> ApplicationView:
        transitions = await Transition.filter(application_id=app.id).order_by("id")
        materials = await Material.filter(application_id=app.id).order_by("id")
        try:
            node_name = (await self.nodes.get(app.node_code)).name
        except NodeNotFound:  # a node removed from the registry leaves its applications readable
            node_name = None
        return application_view(app, self.transitions.today(), node_name=node_name,
                                form=open_form(self.vault, app.form_sealed),
                                materials=tuple(material_view(m) for m in materials),
                                timeline=tuple(transition_view(t) for t in transitions))

    # --- withdraw and resubmit --------------------------------------------------------------

    async def withdraw(self, *, person_id: str, number: str, reason: str | None = None,
                       idempotency_key: str | None = None) -> ApplicationView:
        app = await self._own(person_id, number)

        async def change(conn: BaseDBAsyncClient, locked: Application, now: datetime) -> None:
            await self.transitions.take(conn, locked, "withdraw", Actor(rules.CITIZEN, person_id), at=now,
                             reason=reason)
            await self.delivery.enqueue(kind="node.application.withdrawn", target=locked.node_code,
                                        payload={"number": number, "reason": reason},
                                        dedupe_key=f"application:{number}:withdrawn", connection=conn)

        request = {"reason": reason}
        return await self._citizen_change(app, idempotency_key, f"withdraw:{number}", request, change)

    async def resubmit(self, *, person_id: str, number: str, form: dict, materials: Sequence[dict],
                       idempotency_key: str | None = None, entry: str = rules.PLAIN) -> ApplicationView:
        """After a correction request (补正): the corrected form and materials, checked like a
        submission. Back to intake if the correction came before acceptance, else to review.
        Only through the entry that submitted the application, for a matter that entry still owns:
        a fund withdrawal's or a bundle step's application takes no new form or material here."""
        app = await self._own(person_id, number)
        rules.check_change_entry(number=app.number, submitted_by=app.entry, entry=entry)
        operation, request = f"resubmit:{number}", {"form": form, "materials": list(materials)}
        if idempotency_key and await self._replayed(app, idempotency_key, operation, request):
            return await self._detail(app)
        try:
            rules.advance(progress_of(app), "resubmit", at=self.clock.now())  # refuse before other checks
            matter = await self.catalog.any_matter(code=app.matter_code)  # retired since: still correctable
            rules.check_entry(matter_code=matter.code, matter_name=matter.name, matter_entry=matter.entry,
                              entry=entry)
            rules.check_form(matter.form_schema, form)
            resolved = await self.materials.resolve(person_id, materials)
            material_rules.check_materials(matter.materials, [r.given for r in resolved])
        except DomainError:  # a concurrent repeat may have committed (its uploads are now taken)
            if idempotency_key and await self._replayed(app, idempotency_key, operation, request):
                return await self._detail(await Application.get(id=app.id))
            raise

        async def change(conn: BaseDBAsyncClient, locked: Application, now: datetime) -> None:
            attached = await self.materials.attach(conn, locked, resolved, now)
            await self.transitions.take(conn, locked, "resubmit", Actor(rules.CITIZEN, person_id), at=now,
                                         changes={"form_sealed": seal_form(self.vault, form)})
            await self.delivery.enqueue(
                kind="node.application.resubmitted", target=locked.node_code,
                payload={"number": number, "form": form,
                         "materials": [material_payload(m, number) for m in attached],
                         "resubmitted_at": now.isoformat(),
                         "due_on": locked.due_on.isoformat() if locked.due_on else None},
                dedupe_key=f"application:{number}:resubmitted:{locked.version}", connection=conn)

        return await self._citizen_change(app, idempotency_key, operation, request, change)

    async def _citizen_change(self, app: Application, key: str | None, operation: str, request: dict,
                              change) -> ApplicationView:
        """A citizen's change of their application, in one transaction under the row lock; with an
        ``Idempotency-Key`` a repeat (even a concurrent one) answers the application as it is."""
        if key and await self._replayed(app, key, operation, request):
            return await self._detail(await Application.get(id=app.id))
        now = self.clock.now()
        try:
            async with in_transaction() as conn:
                if key:
                    request_hash = rules.fingerprint(request)
                    await claim_key(conn, app.person_id, key, operation, request_hash, now, app.number)
                locked = await under_lock(conn, app.id)
                await change(conn, locked, now)
        except IntegrityError:  # the same key committed meanwhile by a concurrent repeat
            if key and await self._replayed(app, key, operation, request):
                return await self._detail(await Application.get(id=app.id))
            raise
        return await self._detail(locked)

    async def _replayed(self, app: Application, key: str, operation: str, request: dict) -> bool:
        number = await replay_of(app.person_id, key, operation, rules.fingerprint(request))
        return number is not None

    # --- materials (materials.py) ------------------------------------------------------------

    async def upload_material(self, *, person_id: str, data: bytes, filename: str | None) -> MaterialView:
        return await self.materials.upload(person_id=person_id, data=data, filename=filename)

    async def material_for_node(self, *, node_code: str, number: str, material_id: str) -> MaterialContent:
        return await self.materials.for_node(node_code=node_code, number=number, material_id=material_id)

    async def applicants_naming(self, *, license_id: str, node_code: str) -> list[str]:
        return await self.materials.applicants_naming(license_id=license_id, node_code=node_code)

    async def purge_unused_uploads(self) -> dict:
        return await self.materials.purge_unused()

    # --- department events (department_events.py) --------------------------------------------

    async def apply_event(self, *, node_code: str, number: str, event_id: str, type: str,
                          occurred_at: datetime, reason: str | None = None,
                          department_reference: str | None = None) -> EventOutcome:
        """A node's event about an application it handles (POST /gov/v1/applications/{number}/events)."""
        return await self.department_events.apply(
            node_code=node_code, number=number, event_id=event_id, type=type, occurred_at=occurred_at,
            reason=reason, department_reference=department_reference)

    # --- overdue (scheduler job) ------------------------------------------------------------

    async def flag_overdue(self) -> dict:
        """Mark applications whose promised limit passed while the clock runs (reads compute the
        same rule live; the stored flag serves operators' queries and notifications)."""
        today = self.transitions.today()
        flagged = await Application.filter(status__in=sorted(rules.CLOCK_RUNNING), due_on__lt=today,
                                           overdue=False).update(overdue=True)
        return {"flagged": flagged}
