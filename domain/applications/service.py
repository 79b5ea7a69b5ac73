"""Application use cases: submit, follow, withdraw, resubmit after correction, upload materials,
and apply the events departments post back (docs/applications.md). Materials themselves live in
``materials.py``; the keys, numbers and records of storing a submission in ``intake.py``.

Guarantees, and what makes them hold:
- **One submission, one application, one number.** ``submit`` claims the citizen's
  ``Idempotency-Key`` (a unique row) in the same transaction as the application, its transitions
  and its outbox delivery; a concurrent duplicate waits on that row and then answers the first
  result. Numbers come from a per-region, per-day counter, taken just before in a transaction of
  its own (a number never repeats; a failed submission leaves a gap).
- **Every change recorded and announced once.** Every status change goes through ``_move``: it
  checks the state machine, bumps the version, writes the transition and tells the listeners
  (notifications) on the same connection.
- **Departments' events never move an application backwards**: ``rules.classify_event`` and
  ``rules.settle`` decide; every event is kept, its first answer replayed.
"""
from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.applications import rules
from domain.applications.errors import (
    ApplicationChanged,
    ApplicationNotFound,
    EventIdReused,
    IdempotencyKeyRequired,
    MatterNotOnline,
)
from domain.applications.intake import (
    Intake,
    Submission,
    Written,
    answer_again,
    claim_key,
    claims,
    in_callers_transaction,
    next_sequences,
    replay_of,
)
from domain.applications.materials import Materials
from domain.applications.materials import payload as material_payload
from domain.applications.models import Application, IdempotencyRecord, Material, NodeEvent, Transition
from domain.applications.ports import (
    ApprovalDecision,
    ApprovalRequest,
    InstantApproval,
    LicenseWallet,
    ManualReviewOnly,
    MaterialStore,
    TransitionListener,
    TransitionNotice,
)
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
from domain.catalog.errors import InvalidCursor
from domain.delivery.service import NewDelivery
from domain.identity.errors import UNKNOWN_PERSON, AssuranceRequired, TokenInvalid
from domain.nodes.errors import NodeNotFound
from domain.shared.clock import SHANGHAI, Clock, beijing_day_start
from domain.shared.errors import DomainError
from domain.shared.group_commit import GroupCommit
from domain.shared.memo import Memo
from domain.shared.rows import fields_of, insert_rows
from domain.shared.vault import Vault

log = logging.getLogger("govhub.applications")

FORM_CONTEXT = "application.form"
PERSON_REF_CONTEXT = "application.person_ref"
REQUIRED_ASSURANCE = 2  # L2: real name verified
DEFAULT_UPLOAD_MAX_BYTES = 10 * 1024 * 1024
MAX_PAGE = 50
INSTANT_ACTOR = "instant_approval"
# How stale a submit's view of the matter and its handling nodes may be in this process: a matter
# switched off or a node disabled is honoured within this many seconds (reading them on every
# submit cost more than its writes: docs/benchmarks.md). Applicants are not memoised: each citizen
# submits rarely, so a memo would not hit outside a benchmark; a batch reads its applicants in one query.
MEMO_SECONDS = 5.0
# Batches of submissions in flight at once: with one, the hub sat idle while each batch waited for
# its commit's disk flush; four keep it busy (measured: docs/benchmarks.md, "Submit throughput").
SUBMIT_WRITERS = 4


# --- what the use cases return ----------------------------------------------------------------


@dataclass
class _Actor:
    kind: str
    id: str


class ApplicationService:
    def __init__(self, *, clock: Clock, vault: Vault, catalog, nodes, identity, delivery,
                 store: MaterialStore, wallet: LicenseWallet | None = None,
                 approval: InstantApproval | None = None,
                 upload_max_bytes: int = DEFAULT_UPLOAD_MAX_BYTES) -> None:
        """``catalog``, ``nodes``, ``identity``, ``delivery``: those modules' services."""
        self.clock, self.vault = clock, vault
        self.catalog, self.nodes, self.identity, self.delivery = catalog, nodes, identity, delivery
        self.materials = Materials(clock=clock, store=store, wallet=wallet, upload_max_bytes=upload_max_bytes)
        self.approval: InstantApproval = approval or ManualReviewOnly()
        self.listeners: list[TransitionListener] = []
        self._matters: Memo[str, Any] = Memo(seconds=MEMO_SECONDS)
        self._handlers: Memo[tuple, list] = Memo(seconds=MEMO_SECONDS)
        self._counting: set[asyncio.Task] = set()  # popularity counts of batches, on their way
        self._intake: GroupCommit[Intake, Written] = GroupCommit(
            write_batch=self._store_batch, write_one=self._store_alone, writers=SUBMIT_WRITERS,
            name="applications.submit")

    # --- seams for later capabilities -------------------------------------------------------

    def use_wallet(self, wallet: LicenseWallet) -> None:
        """The licenses module's wallet, once it is wired (bff/app.py)."""
        self.materials.wallet = wallet

    def use_approval(self, approval: InstantApproval) -> None:
        """The instant-approval (秒批) step, consulted by every submit."""
        self.approval = approval

    def add_listener(self, listener: TransitionListener) -> None:
        """Told of every status change, inside its transaction (notifications enqueue there)."""
        self.listeners.append(listener)

    # --- submit -----------------------------------------------------------------------------

    async def submit(self, *, person_id: str, channel: str, matter_code: str, form: dict,
                     materials: Sequence[dict], idempotency_key: str | None,
                     entry: str = rules.PLAIN) -> SubmitResult:
        """Check, then write: a plain submission (no materials, no instant approval, not inside a
        caller's transaction) by group commit with the others arriving meanwhile, any other in a
        transaction of its own (nested in the caller's, if any). A key
        seen before answers its first result, whichever way that was written.

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
            checked = await self._check_submission(person_id, channel, matter_code, form, materials, entry)
            intake = Intake(checked, idempotency_key, request_hash)
            # in a caller's transaction (a fund withdrawal claims its quota in the same one) the
            # submission must nest in it and commit or roll back with it: never batched
            plain = (not checked.materials and not checked.matter.instant_approval
                     and not in_callers_transaction())
            written = await (self._intake.write(intake) if plain else self._store_alone(intake))
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
        """Drop the few seconds' memory of matters and handling nodes (MEMO_SECONDS): for a store
        emptied under a running hub (the test harness), where they would answer from before."""
        self._matters.clear()
        self._handlers.clear()

    async def counted(self) -> None:
        """Wait until the popularity counts of written batches are sent (tests; shutdown)."""
        await asyncio.gather(*self._counting)

    async def _store_alone(self, intake: Intake) -> Written:
        [checked] = await self._with_applicants([intake.checked])
        if isinstance(checked, Exception):
            raise checked
        if (number := await replay_of(checked.person_id, intake.key, "submit", intake.request_hash)) is not None:
            return Written(number, replayed=True)
        number = await self._store_submission(checked, intake.key, intake.request_hash)
        await self.catalog.count_applications([checked.matter.id])
        return Written(number, replayed=False)

    async def _store_batch(self, intakes: Sequence[Intake]) -> list[Written | Exception]:
        """Plain submissions together (group commit): their keys, numbers, applications, submit
        transitions, messages and deliveries in one transaction of a few multi-row statements —
        the same rows ``_store_submission`` writes one by one. A key already used, by an earlier
        request or by another in this batch, answers that first result."""
        read = await self._with_applicants([i.checked for i in intakes])
        results: list[Written | Exception | None] = [c if isinstance(c, Exception) else None for c in read]
        intakes = [i if isinstance(c, Exception) else replace(i, checked=c) for i, c in zip(intakes, read)]
        first = await claims(intakes, results)
        fresh = [intakes[i] for i in first.values()]
        if fresh:
            views = await self._write_fresh(fresh)
            for index, view in zip(first.values(), views):
                results[index] = Written(view.number, replayed=False, view=view)
        for index, intake in enumerate(intakes):  # the batch's own duplicates answer their first
            if results[index] is None:
                writer = first[(intake.checked.person_id, intake.key)]
                results[index] = answer_again(results[writer].number, "submit", intakes[writer].request_hash,
                                              intake.request_hash)
        return results

    async def _write_fresh(self, fresh: list[Intake]) -> list[ApplicationView]:
        """Write new submissions in one transaction; their views, built from what was written."""
        now = self.clock.now()
        apps = await self._numbered_drafts([i.checked for i in fresh], now)
        befores = []
        for app in apps:  # draft -> submitted by the same rule as _move, before anything is written
            before, fields = self._moved(app, "submit", at=now)
            befores.append(before)
            for name, value in fields.items():
                setattr(app, name, value)
        async with in_transaction() as conn:
            await insert_rows(IdempotencyRecord, [
                {"person_id": i.checked.person_id, "key": i.key, "operation": "submit",
                 "request_hash": i.request_hash, "application_number": app.number, "created_at": now}
                for i, app in zip(fresh, apps)], connection=conn)
            ids = {row["number"]: row["id"] for row in await insert_rows(
                Application, [fields_of(app) for app in apps], connection=conn, returning=("id", "number"))}
            for app in apps:
                app.id = ids[app.number]
            transitions = [_transition(app, "submit", before, _Actor(rules.CITIZEN, app.person_id), at=now)
                           for app, before in zip(apps, befores)]
            await insert_rows(Transition, [fields_of(t) for t in transitions], connection=conn)
            await self._announce(conn, [_notice(app, "submit", before, at=now) for app, before in zip(apps, befores)])
            await self.delivery.enqueue_many([NewDelivery(
                kind="node.application.submitted", target=app.node_code,
                dedupe_key=f"application:{app.number}:submitted",
                payload=self._submitted_payload(app, i.checked.form, [], i.checked.applicant, app.due_on))
                for i, app in zip(fresh, apps)], connection=conn)
        self._count_in_background([i.checked.matter.id for i in fresh])
        today = self._today()
        return [replace(application_view(app, today), node_name=i.checked.node_name, form=i.checked.form,
                        timeline=(transition_view(transition),))
                for i, app, transition in zip(fresh, apps, transitions)]

    def _count_in_background(self, matter_ids: list[int]) -> None:
        # Not awaited: the batch's writer is a queue every submit waits in, and awaiting Redis
        # there stalled it (measured: docs/benchmarks.md, "Submit throughput").
        counting = asyncio.create_task(self.catalog.count_applications(matter_ids))
        self._counting.add(counting)
        counting.add_done_callback(self._counting.discard)

    async def _with_applicants(self, submissions: Sequence[Submission]) -> list[Submission | Exception]:
        """Each submission with its applicant, read for all in one query; in its place the refusal
        of one who is unknown or not real-name verified (L2)."""
        found = await self.identity.applicants(person_ids=[s.person_id for s in submissions])
        out: list[Submission | Exception] = []
        for submission in submissions:
            applicant = found.get(submission.person_id)
            if applicant is None:
                out.append(TokenInvalid(UNKNOWN_PERSON))
            elif applicant.assurance < REQUIRED_ASSURANCE:
                out.append(AssuranceRequired("提交申请前请先完成实名认证", required="L2",
                                             current=f"L{applicant.assurance}"))
            else:
                out.append(replace(submission, applicant=applicant))
        return out

    async def _check_submission(self, person_id: str, channel: str, matter_code: str, form: dict,
                                materials: Sequence[dict], entry: str) -> Submission:
        """Everything that can refuse a submission before anything is written, but the applicant,
        who is read where the submission is stored (``_with_applicants``). The matter and its nodes
        come from a few seconds' memo (see ``MEMO_SECONDS``)."""
        matter = await self._matters.get(matter_code, lambda: self.catalog.matter(code=matter_code))
        rules.check_entry(matter_code=matter.code, matter_name=matter.name, matter_entry=matter.entry, entry=entry)
        if channel not in matter.channels or not rules.may_apply_online(matter.online_depth):
            raise MatterNotOnline(f"“{matter.name}”暂不支持在此渠道在线申请", matter_code=matter.code)
        rules.check_form(matter.form_schema, form)
        department, province = matter.department_code, rules.province_of(matter.region_code)
        candidates = await self._handlers.get((department, province), lambda: self.nodes.code_or_province(
            code=department, province_region=province))
        node_code = rules.handling_node(department_code=matter.department_code, region_code=matter.region_code,
                                        nodes=[rules.NodeFacts(n.code, n.kind, n.region_code, n.status)
                                               for n in candidates])
        resolved = await self.materials.resolve(person_id, materials)
        rules.check_materials(matter.materials, [r.given for r in resolved])
        return Submission(person_id=person_id, channel=channel, form=form, applicant=None,
                          matter=matter, node_code=node_code, materials=resolved,
                          node_name=next(n.name for n in candidates if n.code == node_code), entry=entry)

    async def check_entry(self, *, matter_code: str, entry: str) -> None:
        """Refuse now what ``submit`` would refuse for ``entry`` (a bundle's retry asks before it
        resets its steps). Retired matters are judged too: their record still says who owns them."""
        matter = await self.catalog.any_matter(code=matter_code)
        rules.check_entry(matter_code=matter.code, matter_name=matter.name, matter_entry=matter.entry, entry=entry)

    async def _store_submission(self, checked: Submission, key: str, request_hash: str) -> str:
        """One transaction: the key, the number, the application, its materials and transitions,
        the instant-approval step and the delivery to the node. Returns the number."""
        matter, person_id, now = checked.matter, checked.person_id, self.clock.now()
        [app] = await self._numbered_drafts([checked], now)
        async with in_transaction() as conn:
            await claim_key(conn, person_id, key, "submit", request_hash, now)
            await app.save(using_db=conn)
            attached = await self.materials.attach(conn, app, checked.materials, now)
            await self._move(conn, app, "submit", _Actor(rules.CITIZEN, person_id), at=now)
            decision = None if not matter.instant_approval else await self.approval.decide(ApprovalRequest(
                number=app.number, person_id=person_id, assurance=checked.applicant.assurance,
                matter_code=matter.code, catalog_code=matter.catalog_code,
                matter_instant_approval=matter.instant_approval, region_code=matter.region_code,
                department_code=matter.department_code, form=checked.form,
                materials=[material_payload(m, app.number) for m in attached], submitted_at=now),
                connection=conn)
            if decision is not None:
                await self._record_decision(conn, app, decision, now)
            await self.delivery.enqueue(
                kind="node.application.submitted", target=checked.node_code,
                payload=self._submitted_payload(app, checked.form, attached, checked.applicant, app.due_on),
                dedupe_key=f"application:{app.number}:submitted", connection=conn)
            await IdempotencyRecord.filter(person_id=person_id, key=key).using_db(conn).update(
                application_number=app.number)
        return app.number

    async def _numbered_drafts(self, submissions: Sequence[Submission], now: datetime) -> list[Application]:
        """Unsaved drafts with their numbers, taken per region (see ``next_sequences``) in the
        order given, and their provisional deadlines (until the department accepts)."""
        today = now.astimezone(SHANGHAI).date()
        taken = await next_sequences(today, Counter(s.matter.region_code[:6] for s in submissions))
        drafts = []
        for s in submissions:
            region6, matter = s.matter.region_code[:6], s.matter
            sequence, taken[region6] = taken[region6], taken[region6] + 1
            due_on, basis = rules.add_working_days(today, matter.promised_limit_days)
            drafts.append(Application(
                number=rules.number_of(matter.region_code, today, sequence), person_id=s.person_id,
                matter_code=matter.code, matter_name=matter.name, department_code=matter.department_code,
                region_code=matter.region_code, node_code=s.node_code, channel=s.channel, entry=s.entry,
                status=rules.DRAFT,
                form_sealed=self._seal_form(s.form), promised_limit_days=matter.promised_limit_days,
                due_on=due_on, calendar_basis=basis, submitted_at=now, version=1, created_at=now, updated_at=now))
        return drafts

    async def _record_decision(self, conn: BaseDBAsyncClient, app: Application, decision: ApprovalDecision,
                               now: datetime) -> None:
        app.decision = {"approved": decision.approved, "checks": decision.checks, "results": decision.results,
                        "decided_at": now.isoformat()}
        await Application.filter(id=app.id).using_db(conn).update(decision=app.decision)
        if decision.approved:
            for name in ("accept", "approve", "complete"):
                await self._move(conn, app, name, _Actor(rules.SYSTEM, INSTANT_ACTOR), at=now,
                                 reason="系统自动审批")

    def _submitted_payload(self, app: Application, form: dict, attached: list[Material], applicant,
                           due_on: date) -> dict:
        return {
            "number": app.number, "matter_code": app.matter_code, "matter_name": app.matter_name,
            "department_code": app.department_code, "region_code": app.region_code,
            "applicant": {"person_ref": self.person_ref(app.person_id), "name_masked": applicant.name_masked,
                          "assurance": f"L{applicant.assurance}"},
            "form": form, "materials": [material_payload(m, app.number) for m in attached],
            "submitted_at": app.submitted_at.isoformat(), "promised_due_on": due_on.isoformat(),
            "callback": f"/gov/v1/applications/{app.number}/events",
            "decision": app.decision,
        }

    def person_ref(self, person_id: str) -> str:
        """Opaque and stable per person, and not the token subject: a department can link a
        person's applications without learning their hub identity."""
        return "pr_" + self.vault.lookup_hash(person_id, context=PERSON_REF_CONTEXT)[:32]

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
        if cursor:
            query = query.filter(id__lt=_read_cursor(cursor))
        limit = max(1, min(limit, MAX_PAGE))
        rows = await query.order_by("-id").limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        today = self._today()
        return ApplicationPage(items=[application_view(a, today) for a in rows],
                               next_cursor=_write_cursor(rows[-1].id) if more else None)

    async def detail(self, *, person_id: str, number: str) -> ApplicationView:
        return await self._detail(await self._own(person_id, number))

    async def open_count(self, person_id: str) -> int:
        """The home page's "my open items": submitted and not yet finished."""
        return await Application.filter(person_id=person_id, status__in=sorted(rules.OPEN)).count()

    async def _own(self, person_id: str, number: str) -> Application:
        app = None
        if isinstance(number, str):
            app = await Application.get_or_none(number=number, person_id=person_id)
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
        return replace(application_view(app, self._today()), node_name=node_name, form=self._open_form(app.form_sealed),
                       materials=tuple(material_view(m) for m in materials),
                       timeline=tuple(transition_view(t) for t in transitions))

    # --- withdraw and resubmit --------------------------------------------------------------

    async def withdraw(self, *, person_id: str, number: str, reason: str | None = None,
                       idempotency_key: str | None = None) -> ApplicationView:
        app = await self._own(person_id, number)

        async def change(conn: BaseDBAsyncClient, locked: Application, now: datetime) -> None:
            await self._move(conn, locked, "withdraw", _Actor(rules.CITIZEN, person_id), at=now,
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
            rules.check_materials(matter.materials, [r.given for r in resolved])
        except DomainError:  # a concurrent repeat may have committed (its uploads are now taken)
            if idempotency_key and await self._replayed(app, idempotency_key, operation, request):
                return await self._detail(await Application.get(id=app.id))
            raise

        async def change(conn: BaseDBAsyncClient, locked: Application, now: datetime) -> None:
            attached = await self.materials.attach(conn, locked, resolved, now)
            await self._move(conn, locked, "resubmit", _Actor(rules.CITIZEN, person_id), at=now,
                             changes={"form_sealed": self._seal_form(form)})
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
                locked = await _locked(conn, app.id)
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

    # --- department events (callbacks) ------------------------------------------------------

    async def apply_event(self, *, node_code: str, number: str, event_id: str, type: str,
                          occurred_at: datetime, reason: str | None = None,
                          department_reference: str | None = None) -> EventOutcome:
        """A node's event about an application it handles (POST /gov/v1/applications/{number}/events)."""
        body_hash = rules.fingerprint({"number": number, "type": type, "occurred_at": occurred_at.isoformat(),
                                       "reason": reason, "department_reference": department_reference})
        app = await Application.get_or_none(number=number) if isinstance(number, str) else None
        if app is None or app.node_code != node_code:  # only the handling node; others learn nothing
            raise ApplicationNotFound(f"未找到由本节点办理的办件 {number}")
        if (first := await _first_answer(node_code, event_id, body_hash)) is not None:
            return first
        now = self.clock.now()
        try:
            async with in_transaction() as conn:
                app = await _locked(conn, app.id)
                verdict = rules.classify_event(progress_of(app), type, occurred_at)
                event = await NodeEvent.create(
                    node_code=node_code, event_id=event_id, application_id=app.id, type=type,
                    occurred_at=occurred_at, reason=reason, department_reference=department_reference,
                    body_hash=body_hash, outcome=verdict, answer={}, received_at=now, using_db=conn)
                if verdict == rules.APPLY:
                    await self._apply_node_event(conn, app, event)
                    await self._settle(conn, app)
                answer = {"number": number, "event_id": event_id, "status": app.status,
                          "applied": verdict == rules.APPLY, "outcome": verdict}
                await NodeEvent.filter(id=event.id).using_db(conn).update(answer=answer)
        except IntegrityError:  # the same event id raced in from another request: answer the first
            if (first := await _first_answer(node_code, event_id, body_hash)) is not None:
                return first
            raise
        if verdict != rules.APPLY:
            log.info("application %s: %s event %s from %s recorded, not applied (%s)", number, type, event_id,
                     node_code, verdict)
        return EventOutcome(**answer)

    async def _apply_node_event(self, conn: BaseDBAsyncClient, app: Application, event: NodeEvent) -> None:
        changes = {"department_reference": event.department_reference} if event.department_reference else {}
        await self._move(conn, app, rules.EVENT_TRANSITIONS[event.type], _Actor(rules.NODE, event.node_code),
                         at=event.occurred_at, reason=event.reason, event_id=event.event_id, changes=changes)

    async def _settle(self, conn: BaseDBAsyncClient, app: Application) -> None:
        """Events that arrived ahead of their predecessors, applied now that they may be."""
        rows = await NodeEvent.filter(application_id=app.id, outcome=rules.WAIT).using_db(conn)
        if not rows:
            return
        waiting = {e.id: e for e in rows}
        facts = [rules.NodeEventFacts(key=e.id, type=e.type, occurred_at=e.occurred_at) for e in rows]
        _, decided = rules.settle(progress_of(app), facts)
        for fact, verdict in decided:
            if verdict == rules.APPLY:
                await self._apply_node_event(conn, app, waiting[fact.key])
            await NodeEvent.filter(id=fact.key).using_db(conn).update(outcome=verdict)

    # --- the one way a status changes -------------------------------------------------------

    async def _move(self, conn: BaseDBAsyncClient, app: Application, name: str, actor: _Actor, *,
                    at: datetime, reason: str | None = None, event_id: str | None = None,
                    changes: dict | None = None) -> None:
        """Take transition ``name``: checked by the state machine, recorded with time, actor and
        reason, versioned, and announced to the listeners, all on ``conn``."""
        before, fields = self._moved(app, name, at=at, changes=changes)
        updated = await Application.filter(id=app.id, version=app.version).using_db(conn).update(**fields)
        if not updated:
            raise ApplicationChanged()
        for key, value in fields.items():
            setattr(app, key, value)
        await _transition(app, name, before, actor, at=at, reason=reason, event_id=event_id).save(using_db=conn)
        await self._announce(conn, [_notice(app, name, before, at=at, reason=reason)])

    def _moved(self, app: Application, name: str, *, at: datetime,
               changes: dict | None = None) -> tuple[rules.Progress, dict[str, Any]]:
        """Transition ``name`` as the state machine allows it: the progress before it, and the
        application's fields after it (not yet written)."""
        before = progress_of(app)
        after = rules.advance(before, name, at=at)
        return before, {"status": after.status, "version": app.version + 1, "updated_at": self.clock.now(),
                        **self._schedule(app, before, name, at), **(changes or {})}

    async def _announce(self, conn: BaseDBAsyncClient, notices: list[TransitionNotice]) -> None:
        for listener in self.listeners:
            await listener.on_transitions(notices, connection=conn)

    def _schedule(self, app: Application, before: rules.Progress, name: str, at: datetime) -> dict[str, Any]:
        """Timestamps and the deadline a transition sets."""
        day, today = at.astimezone(SHANGHAI).date(), self._today()
        fields: dict[str, Any] = {}
        if before.status in rules.CLOCK_RUNNING and rules.is_overdue(before.status, app.due_on, today):
            fields["overdue"] = True  # it left a running clock late: that stays on record
        if name == "accept":
            fields["accepted_at"] = at
            fields["due_on"], fields["calendar_basis"] = rules.add_working_days(day, app.promised_limit_days)
        elif name == "request_correction":
            fields["correction_requested_at"] = at
        elif name == "resubmit":
            fields["resubmitted_at"] = at
            if before.accepted and app.due_on and app.correction_requested_at:
                # the clock stood still while the citizen corrected: the days left still remain
                asked_on = app.correction_requested_at.astimezone(SHANGHAI).date()
                left = rules.working_days_between(asked_on, app.due_on)
                fields["due_on"], fields["calendar_basis"] = rules.add_working_days(day, left)
        elif name in ("approve", "refuse"):
            fields["decided_at"] = at
        elif name in ("reject", "complete", "withdraw"):
            fields["closed_at"] = at
            if name == "reject":
                fields["decided_at"] = at
        return fields

    # --- overdue (scheduler job) ------------------------------------------------------------

    async def flag_overdue(self) -> dict:
        """Mark applications whose promised limit passed while the clock runs (reads compute the
        same rule live; the stored flag serves operators' queries and notifications)."""
        today = self._today()
        flagged = await Application.filter(status__in=sorted(rules.CLOCK_RUNNING), due_on__lt=today,
                                           overdue=False).update(overdue=True)
        return {"flagged": flagged}

    # --- helpers ----------------------------------------------------------------------------

    def _seal_form(self, form: dict) -> str:
        return self.vault.seal(rules.canonical_json(form), context=FORM_CONTEXT)

    def _open_form(self, sealed: str) -> dict:
        return json.loads(self.vault.open(sealed, context=FORM_CONTEXT))

    def _today(self) -> date:
        return self.clock.now().astimezone(SHANGHAI).date()


# --- module helpers ---------------------------------------------------------------------------


async def _locked(conn: BaseDBAsyncClient, application_id: int) -> Application:
    """The application re-read under a row lock (PostgreSQL; SQLite has one writer anyway)."""
    return await Application.select_for_update().using_db(conn).get(id=application_id)


async def _first_answer(node_code: str, event_id: str, body_hash: str) -> EventOutcome | None:
    event = await NodeEvent.get_or_none(node_code=node_code, event_id=event_id)
    if event is None:
        return None
    if event.body_hash != body_hash:
        raise EventIdReused(f"事件编号 {event_id} 已用于另一事件")
    return EventOutcome(**event.answer, replayed=True)


def _transition(app: Application, name: str, before: rules.Progress, actor: _Actor, *, at: datetime,
                reason: str | None = None, event_id: str | None = None) -> Transition:
    """The record of ``app`` having just taken transition ``name`` (not yet written)."""
    return Transition(application_id=app.id, name=name, from_status=before.status, to_status=app.status, at=at,
                      actor_kind=actor.kind, actor_id=actor.id, reason=reason, event_id=event_id)


def _notice(app: Application, name: str, before: rules.Progress, *, at: datetime,
            reason: str | None = None) -> TransitionNotice:
    return TransitionNotice(number=app.number, person_id=app.person_id, channel=app.channel,
                            matter_name=app.matter_name, transition=name, from_status=before.status,
                            to_status=app.status, at=at, reason=reason, due_on=app.due_on,
                            new=name == "submit")  # applications are created by their submission


def _write_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> int:
    try:
        value = int(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode())
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("分页参数无效") from None
    if value < 1:
        raise InvalidCursor("分页参数无效")
    return value
