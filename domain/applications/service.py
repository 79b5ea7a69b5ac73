"""Application use cases: submit, follow, withdraw, resubmit after correction, upload materials,
and apply the events departments post back (docs/applications.md).

Guarantees, and what makes them hold:
- **One submission, one application, one number.** ``submit`` claims the citizen's
  ``Idempotency-Key`` (a unique row) in the same transaction as the application, its transitions
  and its outbox delivery; a concurrent duplicate waits on that row and then answers the first
  result. Numbers come from a per-region, per-day counter row updated in that transaction.
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
import secrets
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from hashlib import sha256
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.applications import rules
from domain.applications.errors import (
    ApplicationChanged,
    ApplicationNotFound,
    EventIdReused,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    MaterialsInvalid,
    MatterNotOnline,
)
from domain.applications.models import Application, IdempotencyRecord, Material, NodeEvent, Transition
from domain.applications.ports import (
    ApprovalDecision,
    ApprovalRequest,
    EmptyWallet,
    InstantApproval,
    LicenseRef,
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
from domain.identity.errors import AssuranceRequired, TokenInvalid
from domain.nodes.errors import NodeNotFound
from domain.shared.clock import SHANGHAI, Clock, beijing_day_start
from domain.shared.errors import DomainError
from domain.shared.group_commit import GroupCommit
from domain.shared.memo import Memo
from domain.shared.rows import fields_of, insert_rows, placeholders
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
# submit cost a third of its time under load). Applicants are not memoised: each citizen submits
# rarely, so a memo would not hit outside a benchmark; a batch reads its applicants in one query.
MEMO_SECONDS = 5.0
# An upload no application used within this long is deleted, file and row: a citizen's document
# is not kept for an application that was never made.
UNUSED_UPLOAD_KEPT = timedelta(hours=24)
PURGE_BATCH = 500
# Batches of submissions in flight at once. One writer left the hub idle half the time while each
# batch waited for its commit's disk flush (483-1,129 submits/s, 44 % CPU); four keep it busy
# (803-933/s, 94 % CPU) — measured in the same session (docs/benchmarks.md).
SUBMIT_WRITERS = 4


# --- what the use cases return ----------------------------------------------------------------


@dataclass
class _Resolved:
    given: rules.GivenMaterial
    upload: Material | None = None
    license: LicenseRef | None = None


@dataclass(frozen=True)
class _Submission:
    """A submission that passed every check, ready to store."""

    person_id: str
    channel: str
    form: dict
    applicant: Any  # the identity service's Applicant; None until read (see ``_with_applicants``)
    matter: Any  # the catalog's matter
    node_code: str
    materials: list[_Resolved]
    node_name: str


@dataclass(frozen=True)
class _Intake:
    """A checked submission waiting to be written, with its Idempotency-Key."""

    checked: _Submission
    key: str
    request_hash: str


@dataclass(frozen=True)
class _Written:
    """What writing a submission came to: its number, whether it was the first result again, and
    the view when the writer built it from what it wrote (else the caller reads it)."""

    number: str
    replayed: bool
    view: ApplicationView | None = None


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
        self.store = store
        self.wallet: LicenseWallet = wallet or EmptyWallet()
        self.approval: InstantApproval = approval or ManualReviewOnly()
        self.listeners: list[TransitionListener] = []
        self.upload_max_bytes = upload_max_bytes
        self._matters: Memo[str, Any] = Memo(seconds=MEMO_SECONDS)
        self._handlers: Memo[tuple, list] = Memo(seconds=MEMO_SECONDS)
        self._counting: set[asyncio.Task] = set()  # popularity counts of batches, on their way
        self._intake: GroupCommit[_Intake, _Written] = GroupCommit(
            write_batch=self._store_batch, write_one=self._store_alone, writers=SUBMIT_WRITERS,
            name="applications.submit")

    # --- seams for later capabilities -------------------------------------------------------

    def use_wallet(self, wallet: LicenseWallet) -> None:
        """The licenses module's wallet, once it is wired (bff/app.py)."""
        self.wallet = wallet

    def use_approval(self, approval: InstantApproval) -> None:
        """The instant-approval (秒批) step, consulted by every submit."""
        self.approval = approval

    def add_listener(self, listener: TransitionListener) -> None:
        """Told of every status change, inside its transaction (notifications enqueue there)."""
        self.listeners.append(listener)

    # --- submit -----------------------------------------------------------------------------

    async def submit(self, *, person_id: str, channel: str, matter_code: str, form: dict,
                     materials: Sequence[dict], idempotency_key: str | None) -> SubmitResult:
        """Check, then write: a plain submission (no materials, no instant approval, not inside a
        caller's transaction) by group commit with the others arriving meanwhile, any other in a
        transaction of its own (nested in the caller's, if any). A key
        seen before answers its first result, whichever way that was written."""
        if not idempotency_key:
            raise IdempotencyKeyRequired("提交申请须带 Idempotency-Key 请求头（每次新申请一个新值，重试时不变）")
        request = {"matter_code": matter_code, "form": form, "materials": list(materials)}
        request_hash = rules.fingerprint(request)
        try:
            checked = await self._check_submission(person_id, channel, matter_code, form, materials)
            intake = _Intake(checked, idempotency_key, request_hash)
            # in a caller's transaction (a fund withdrawal claims its quota in the same one) the
            # submission must nest in it and commit or roll back with it: never batched
            plain = not checked.materials and not checked.matter.instant_approval and not _in_transaction()
            written = await (self._intake.write(intake) if plain else self._store_alone(intake))
        except (DomainError, IntegrityError):
            # A duplicate of this very request may have committed meanwhile: its key is claimed (our
            # insert failed) or its upload is taken (our check failed). Answer the first result.
            if (number := await self._replay(person_id, idempotency_key, "submit", request_hash)) is not None:
                return SubmitResult(await self.detail(person_id=person_id, number=number), replayed=True)
            raise
        if not written.replayed:
            log.info("application %s submitted: %s -> node %s", written.number, matter_code, checked.node_code)
        view = written.view or await self.detail(person_id=person_id, number=written.number)
        return SubmitResult(view, replayed=written.replayed)

    async def counted(self) -> None:
        """Wait until the popularity counts of written batches are sent (tests; shutdown)."""
        await asyncio.gather(*self._counting)

    async def _store_alone(self, intake: _Intake) -> _Written:
        [checked] = await self._with_applicants([intake.checked])
        if isinstance(checked, Exception):
            raise checked
        if (number := await self._replay(checked.person_id, intake.key, "submit", intake.request_hash)) is not None:
            return _Written(number, replayed=True)
        number = await self._store_submission(checked, intake.key, intake.request_hash)
        await self.catalog.count_applications([checked.matter.id])
        return _Written(number, replayed=False)

    async def _store_batch(self, intakes: Sequence[_Intake]) -> list[_Written | Exception]:
        """Plain submissions together (group commit): their keys, numbers, applications, submit
        transitions, messages and deliveries in one transaction of a few multi-row statements —
        the same rows ``_store_submission`` writes one by one. A key already used, by an earlier
        request or by another in this batch, answers that first result."""
        read = await self._with_applicants([i.checked for i in intakes])
        results: list[_Written | Exception | None] = [c if isinstance(c, Exception) else None for c in read]
        intakes = [i if isinstance(c, Exception) else replace(i, checked=c) for i, c in zip(intakes, read)]
        first = await _claims(intakes, results)
        fresh = [intakes[i] for i in first.values()]
        if fresh:
            views = await self._write_fresh(fresh)
            for index, view in zip(first.values(), views):
                results[index] = _Written(view.number, replayed=False, view=view)
        for index, intake in enumerate(intakes):  # the batch's own duplicates answer their first
            if results[index] is None:
                writer = first[(intake.checked.person_id, intake.key)]
                results[index] = _replayed(results[writer].number, "submit", intakes[writer].request_hash,
                                           intake.request_hash)
        return results

    async def _write_fresh(self, fresh: list[_Intake]) -> list[ApplicationView]:
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
                {"person_id": i.checked.person_id, "key": i.key, "operation": "submit", "request_hash": i.request_hash,
                 "application_number": app.number, "created_at": now} for i, app in zip(fresh, apps)], connection=conn)
            ids = {row["number"]: row["id"] for row in await insert_rows(
                Application, [fields_of(app) for app in apps], connection=conn, returning=("id", "number"))}
            for app in apps:
                app.id = ids[app.number]
            transitions = [_transition(app, "submit", before, _Actor(rules.CITIZEN, app.person_id), at=now)
                           for app, before in zip(apps, befores)]
            await insert_rows(Transition, [fields_of(t) for t in transitions], connection=conn)
            await self._announce(conn, [_notice(app, "submit", before, at=now) for app, before in zip(apps, befores)])
            await self.delivery.enqueue_many([NewDelivery(
                kind="node.application.submitted", target=app.node_code, dedupe_key=f"application:{app.number}:submitted",
                payload=self._submitted_payload(app, i.checked.form, [], i.checked.applicant, app.due_on))
                for i, app in zip(fresh, apps)], connection=conn)
        self._count_in_background([i.checked.matter.id for i in fresh])
        today = self._today()
        return [replace(application_view(app, today), node_name=i.checked.node_name, form=i.checked.form,
                        timeline=(transition_view(transition),))
                for i, app, transition in zip(fresh, apps, transitions)]

    def _count_in_background(self, matter_ids: list[int]) -> None:
        # Not awaited: the batch's writer is a queue every submit waits in (awaiting Redis there
        # took the bench from 1,076 to 614 submits/s, the hub idle half the time).
        counting = asyncio.create_task(self.catalog.count_applications(matter_ids))
        self._counting.add(counting)
        counting.add_done_callback(self._counting.discard)

    async def _with_applicants(self, submissions: Sequence[_Submission]) -> list[_Submission | Exception]:
        """Each submission with its applicant, read for all in one query; in its place the refusal
        of one who is unknown or not real-name verified (L2)."""
        found = await self.identity.applicants(person_ids=[s.person_id for s in submissions])
        out: list[_Submission | Exception] = []
        for submission in submissions:
            applicant = found.get(submission.person_id)
            if applicant is None:
                out.append(TokenInvalid("登录对象不存在"))
            elif applicant.assurance < REQUIRED_ASSURANCE:
                out.append(AssuranceRequired("提交申请前请先完成实名认证", required="L2",
                                             current=f"L{applicant.assurance}"))
            else:
                out.append(replace(submission, applicant=applicant))
        return out

    async def _check_submission(self, person_id: str, channel: str, matter_code: str, form: dict,
                                materials: Sequence[dict]) -> _Submission:
        """Everything that can refuse a submission before anything is written, but the applicant,
        who is read where the submission is stored (``_with_applicants``). The matter and its nodes
        come from a few seconds' memo (see ``MEMO_SECONDS``)."""
        matter = await self._matters.get(matter_code, lambda: self.catalog.matter(code=matter_code))
        if channel not in matter.channels or not rules.may_apply_online(matter.online_depth):
            raise MatterNotOnline(f"“{matter.name}”暂不支持在此渠道在线申请", matter_code=matter.code)
        rules.check_form(matter.form_schema, form)
        department, province = matter.department_code, rules.province_of(matter.region_code)
        candidates = await self._handlers.get((department, province), lambda: self.nodes.code_or_province(
            code=department, province_region=province))
        node_code = rules.handling_node(department_code=matter.department_code, region_code=matter.region_code,
                                        nodes=[rules.NodeFacts(n.code, n.kind, n.region_code, n.status)
                                               for n in candidates])
        resolved = await self._resolve_materials(person_id, materials)
        rules.check_materials(matter.materials, [r.given for r in resolved])
        return _Submission(person_id=person_id, channel=channel, form=form, applicant=None,
                           matter=matter, node_code=node_code, materials=resolved,
                           node_name=next(n.name for n in candidates if n.code == node_code))

    async def _store_submission(self, checked: _Submission, key: str, request_hash: str) -> str:
        """One transaction: the key, the number, the application, its materials and transitions,
        the instant-approval step and the delivery to the node. Returns the number."""
        matter, person_id, now = checked.matter, checked.person_id, self.clock.now()
        [app] = await self._numbered_drafts([checked], now)
        async with in_transaction() as conn:
            await self._claim_key(conn, person_id, key, "submit", request_hash, now)
            await app.save(using_db=conn)
            attached = await self._attach(conn, app, checked.materials, now)
            await self._move(conn, app, "submit", _Actor(rules.CITIZEN, person_id), at=now)
            decision = None if not matter.instant_approval else await self.approval.decide(ApprovalRequest(
                number=app.number, person_id=person_id, assurance=checked.applicant.assurance,
                matter_code=matter.code, catalog_code=matter.catalog_code,
                matter_instant_approval=matter.instant_approval, region_code=matter.region_code,
                department_code=matter.department_code, form=checked.form,
                materials=[_material_payload(m, app.number) for m in attached], submitted_at=now),
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

    async def _numbered_drafts(self, submissions: Sequence[_Submission], now: datetime) -> list[Application]:
        """Unsaved drafts with their numbers, taken per region (see ``_next_sequences``) in the
        order given, and their provisional deadlines (until the department accepts)."""
        today = now.astimezone(SHANGHAI).date()
        taken = await _next_sequences(today, Counter(s.matter.region_code[:6] for s in submissions))
        drafts = []
        for s in submissions:
            region6, matter = s.matter.region_code[:6], s.matter
            sequence, taken[region6] = taken[region6], taken[region6] + 1
            due_on, basis = rules.add_working_days(today, matter.promised_limit_days)
            drafts.append(Application(
                number=rules.number_of(matter.region_code, today, sequence), person_id=s.person_id,
                matter_code=matter.code, matter_name=matter.name, department_code=matter.department_code,
                region_code=matter.region_code, node_code=s.node_code, channel=s.channel, status=rules.DRAFT,
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
            "form": form, "materials": [_material_payload(m, app.number) for m in attached],
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
                       idempotency_key: str | None = None) -> ApplicationView:
        """After a correction request (补正): the corrected form and materials, checked like a
        submission. Back to intake if the correction came before acceptance, else to review."""
        app = await self._own(person_id, number)
        operation, request = f"resubmit:{number}", {"form": form, "materials": list(materials)}
        if idempotency_key and await self._replayed(app, idempotency_key, operation, request):
            return await self._detail(app)
        try:
            rules.advance(progress_of(app), "resubmit", at=self.clock.now())  # refuse before other checks
            matter = await self.catalog.any_matter(code=app.matter_code)  # retired since: still correctable
            rules.check_form(matter.form_schema, form)
            resolved = await self._resolve_materials(person_id, materials)
            rules.check_materials(matter.materials, [r.given for r in resolved])
        except DomainError:  # a concurrent repeat may have committed (its uploads are now taken)
            if idempotency_key and await self._replayed(app, idempotency_key, operation, request):
                return await self._detail(await Application.get(id=app.id))
            raise

        async def change(conn: BaseDBAsyncClient, locked: Application, now: datetime) -> None:
            attached = await self._attach(conn, locked, resolved, now)
            await self._move(conn, locked, "resubmit", _Actor(rules.CITIZEN, person_id), at=now,
                             changes={"form_sealed": self._seal_form(form)})
            await self.delivery.enqueue(
                kind="node.application.resubmitted", target=locked.node_code,
                payload={"number": number, "form": form,
                         "materials": [_material_payload(m, number) for m in attached],
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
                    await self._claim_key(conn, app.person_id, key, operation, request_hash, now, app.number)
                locked = await _locked(conn, app.id)
                await change(conn, locked, now)
        except IntegrityError:  # the same key committed meanwhile by a concurrent repeat
            if key and await self._replayed(app, key, operation, request):
                return await self._detail(await Application.get(id=app.id))
            raise
        return await self._detail(locked)

    async def _replayed(self, app: Application, key: str, operation: str, request: dict) -> bool:
        number = await self._replay(app.person_id, key, operation, rules.fingerprint(request))
        return number is not None

    # --- materials --------------------------------------------------------------------------

    async def upload_material(self, *, person_id: str, data: bytes, filename: str | None) -> MaterialView:
        """Check and keep an uploaded file; a later submit or resubmit names it by its id."""
        content_type = rules.check_upload(data, max_bytes=self.upload_max_bytes)
        now = self.clock.now()
        key = f"{now:%Y/%m/%d}/{uuid.uuid4().hex}"
        await self.store.put(key, data, content_type=content_type)
        material = await Material.create(
            public_id="m_" + secrets.token_hex(12), person_id=person_id, kind="upload", storage_key=key,
            filename=rules.safe_filename(filename), content_type=content_type, size=len(data),
            sha256=sha256(data).hexdigest(), created_at=now)
        return material_view(material)

    async def material_for_node(self, *, node_code: str, number: str, material_id: str) -> MaterialContent:
        """An uploaded material's bytes, for the node that handles the application only."""
        app = await Application.get_or_none(number=number, node_code=node_code)
        material = await Material.get_or_none(public_id=material_id, application_id=app.id) if app else None
        if material is None or material.storage_key is None:
            raise ApplicationNotFound("未找到该办件或材料")
        return MaterialContent(data=await self.store.get(material.storage_key),
                               content_type=material.content_type or "application/octet-stream",
                               filename=material.filename)

    async def applicants_naming(self, *, license_id: str, node_code: str) -> list[str]:
        """Who applied, to this node, with this e-license as a material (the licenses module
        releases the license to that node without a separate consent). Withdrawn ones do not count."""
        named = Material.filter(kind="license", license_id=license_id, application__node_code=node_code)
        rows = await named.exclude(application__status=rules.WITHDRAWN).values_list("application__person_id",
                                                                                    flat=True)
        return sorted(set(rows))

    async def _resolve_materials(self, person_id: str, items: Sequence[dict]) -> list[_Resolved]:
        upload_ids = [i.get("upload_id") for i in items if i.get("upload_id")]
        uploads = {m.public_id: m for m in await Material.filter(
            public_id__in=upload_ids, person_id=person_id, kind="upload")} if upload_ids else {}
        resolved, seen = [], set()
        for item in items:
            slot = str(item.get("name") or "")
            if upload_id := item.get("upload_id"):
                row = uploads.get(upload_id)
                problem = ("未找到该上传文件" if row is None else "该文件已用于其他办件" if row.application_id
                           else "同一文件不能重复使用" if upload_id in seen else None)
                seen.add(upload_id)
                resolved.append(_Resolved(rules.GivenMaterial(slot, "upload", problem=problem), upload=row))
            elif license_id := item.get("license_id"):
                ref = await self.wallet.holds(person_id=person_id, license_id=license_id)
                problem = None if ref else "电子证照夹中没有该证照或证照已失效"
                license_type = ref.license_type if ref else None
                given = rules.GivenMaterial(slot, "license", license_type, problem=problem)
                resolved.append(_Resolved(given, license=ref))
            else:
                problem = "应给出 upload_id 或 license_id"
                resolved.append(_Resolved(rules.GivenMaterial(slot, "upload", problem=problem)))
        return resolved

    async def _attach(self, conn: BaseDBAsyncClient, app: Application, resolved: list[_Resolved],
                      now: datetime) -> list[Material]:
        attached = []
        for item in resolved:
            if item.upload is not None:
                # conditional: two submissions racing for one upload cannot both take it
                taken = await Material.filter(id=item.upload.id, application_id=None).using_db(conn).update(
                    application_id=app.id, slot=item.given.slot, attached_at=now)
                if not taken:
                    raise MaterialsInvalid("该文件已用于其他办件",
                                           errors=[{"field": "materials", "message": "该文件已用于其他办件"}])
                item.upload.slot, item.upload.attached_at = item.given.slot, now
                attached.append(item.upload)
            elif item.license is not None:
                attached.append(await Material.create(
                    public_id="m_" + secrets.token_hex(12), person_id=app.person_id, application_id=app.id,
                    slot=item.given.slot, kind="license", license_id=item.license.license_id,
                    license_type=item.license.license_type, filename=item.license.title, created_at=now,
                    attached_at=now, using_db=conn))
        return attached

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

    # --- unused uploads (scheduler job) -----------------------------------------------------

    async def purge_unused_uploads(self) -> dict:
        """Delete uploads older than ``UNUSED_UPLOAD_KEPT`` that no application took. Each row is
        deleted only if still unattached (a submit taking it right now wins: on PostgreSQL the
        delete waits for that transaction), then its file."""
        cutoff = self.clock.now() - UNUSED_UPLOAD_KEPT
        rows = await (Material.filter(kind="upload", application_id=None, created_at__lt=cutoff)
                      .order_by("id").limit(PURGE_BATCH))
        purged = 0
        for row in rows:
            if not await Material.filter(id=row.id, application_id=None).delete():
                continue
            purged += 1
            try:
                await self.store.delete(row.storage_key)
            except OSError:  # the row is gone, so nothing refers to the file: logged, not retried
                log.warning("unused upload %s: file %s not deleted", row.public_id, row.storage_key, exc_info=True)
        return {"purged": purged}

    # --- overdue (scheduler job) ------------------------------------------------------------

    async def flag_overdue(self) -> dict:
        """Mark applications whose promised limit passed while the clock runs (reads compute the
        same rule live; the stored flag serves operators' queries and notifications)."""
        today = self._today()
        flagged = await Application.filter(status__in=sorted(rules.CLOCK_RUNNING), due_on__lt=today,
                                           overdue=False).update(overdue=True)
        return {"flagged": flagged}

    # --- helpers ----------------------------------------------------------------------------

    async def _replay(self, person_id: str, key: str, operation: str, request_hash: str) -> str | None:
        """The first result's application number for this key, or None if the key is new."""
        record = await IdempotencyRecord.get_or_none(person_id=person_id, key=key)
        if record is None:
            return None
        if record.operation != operation or record.request_hash != request_hash:
            raise _key_reused()
        return record.application_number


    @staticmethod
    async def _claim_key(conn: BaseDBAsyncClient, person_id: str, key: str, operation: str, request_hash: str,
                         now: datetime, number: str | None = None) -> None:
        await IdempotencyRecord.create(person_id=person_id, key=key, operation=operation,
                                       request_hash=request_hash, application_number=number, created_at=now,
                                       using_db=conn)

    def _seal_form(self, form: dict) -> str:
        return self.vault.seal(rules.canonical_json(form), context=FORM_CONTEXT)

    def _open_form(self, sealed: str) -> dict:
        return json.loads(self.vault.open(sealed, context=FORM_CONTEXT))

    def _today(self) -> date:
        return self.clock.now().astimezone(SHANGHAI).date()


# --- module helpers ---------------------------------------------------------------------------


async def _next_sequences(day: date, counts: dict[str, int]) -> dict[str, int]:
    """Per region (6 digits), the first of its next ``count`` numbers of the day: one atomic
    multi-row upsert in a transaction of its own, whatever the regions of a batch.

    Not in the submitting transaction: the counter row would stay locked until that commits, and
    every submission of a region's day would wait for the one before it (the submit benchmark ran
    at 84/s with the server's CPU a third idle). The price: a submission that fails after this
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


def _in_transaction() -> bool:
    """Is this call inside a transaction a caller opened (``in_transaction``)?"""
    return isinstance(connections.get("default"), TransactionalDBClient)


def _key_reused() -> IdempotencyKeyReused:
    return IdempotencyKeyReused("同一 Idempotency-Key 只能用于同一请求；新的请求请使用新的值")


def _replayed(number: str | None, operation: str, first_hash: str, request_hash: str) -> _Written | Exception:
    """A submit under a key already used: the first result, or the refusal to give it to another body."""
    if operation != "submit" or first_hash != request_hash or number is None:
        return _key_reused()
    return _Written(number, replayed=True)


async def _claims(intakes: Sequence[_Intake], results: list) -> dict[tuple[str, str], int]:
    """Who in a batch writes its key, among the items with no result yet: an item whose key was
    used before gets that answer in ``results``; returns (person, key) -> the index of the first
    item that writes it (the others with that key answer its result)."""
    first: dict[tuple[str, str], int] = {}
    open_items = [index for index, result in enumerate(results) if result is None]
    earlier = await _records_of([(intakes[i].checked.person_id, intakes[i].key) for i in open_items])
    for index in open_items:
        intake = intakes[index]
        claim = (intake.checked.person_id, intake.key)
        if claim in earlier:
            record = earlier[claim]
            results[index] = _replayed(record.application_number, record.operation, record.request_hash,
                                       intake.request_hash)
        elif claim not in first:
            first[claim] = index
    return first


async def _records_of(claims: Sequence[tuple[str, str]]) -> dict[tuple[str, str], IdempotencyRecord]:
    """The idempotency records of these (person, key) pairs, in one query."""
    wanted = set(claims)
    rows = await IdempotencyRecord.filter(key__in=sorted({k for _, k in wanted}),
                                          person_id__in=sorted({p for p, _ in wanted}))
    return {(r.person_id, r.key): r for r in rows if (r.person_id, r.key) in wanted}


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


def _material_payload(m: Material, number: str) -> dict:
    """A material as the department receives it: an upload to fetch (signed), or a license to pull."""
    if m.kind == "license":
        return {"name": m.slot, "kind": "license", "license_id": m.license_id, "license_type": m.license_type}
    return {"name": m.slot, "kind": "upload", "id": m.public_id, "filename": m.filename,
            "content_type": m.content_type, "size": m.size, "sha256": m.sha256,
            "download": f"/gov/v1/applications/{number}/materials/{m.public_id}"}


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
