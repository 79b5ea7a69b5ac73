"""Writing checked submissions: the one writer of ``ApplicationService.submit``.

Every submission is written by ``write_batch``, whatever it carries: its Idempotency-Key, number,
application, materials, submit transition, instant-approval decision and delivery to the node, for
a whole batch in one transaction of a few multi-row statements. Submissions that arrive while a
batch is written wait and go in the next (``GroupCommit``); one alone is a batch of one. A
submission inside a caller's transaction (a fund withdrawal claims its quota in the same one) is
written there as a batch of one, to commit or roll back with it, never queued.
"""
from __future__ import annotations

import asyncio
import contextvars
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from domain.applications import rules, working_days
from domain.applications.intake import (
    Intake,
    Submission,
    Written,
    answer_again,
    claims,
    in_callers_transaction,
    key_rows,
    next_sequences,
)
from domain.applications.materials import Materials
from domain.applications.materials import payload as material_payload
from domain.applications.models import Application, Material, Transition
from domain.applications.ports import ApprovalDecision, ApprovalRequest, InstantApproval
from domain.applications.sealing import person_ref, seal_form
from domain.applications.transitions import Actor, Transitions, notice_of, record_of
from domain.applications.views import ApplicationView, application_view, material_view, transition_view
from domain.delivery.service import NewDelivery
from domain.identity.errors import UNKNOWN_PERSON, AssuranceRequired, TokenInvalid
from domain.shared.clock import SHANGHAI
from domain.shared.group_commit import GroupCommit
from domain.shared.models import IdempotencyKey
from domain.shared.rows import fields_of, insert_rows, unsaved
from domain.shared.vault import Vault

REQUIRED_ASSURANCE = 2  # L2: real name verified
INSTANT_ACTOR = "instant_approval"
# Batches of submissions in flight at once: with one, the hub sat idle while each batch waited for
# its commit's disk flush; four keep it busy (measured: docs/benchmarks.md, "Submit throughput").
SUBMIT_WRITERS = 4


class SubmissionWriter:
    def __init__(self, *, vault: Vault, identity, catalog, delivery, materials: Materials,
                 transitions: Transitions, approval: InstantApproval) -> None:
        """``approval``: the instant-approval (秒批) step every submit consults."""
        self.vault, self.identity, self.catalog, self.delivery = vault, identity, catalog, delivery
        self.materials, self.transitions, self.approval = materials, transitions, approval
        self.batches: GroupCommit[Intake, Written] = GroupCommit(
            write_batch=self.write_batch, write_one=self._write_alone, writers=SUBMIT_WRITERS,
            name="applications.submit")
        self._counting: set[asyncio.Task] = set()  # popularity counts of batches, on their way

    async def write(self, intake: Intake) -> Written:
        """Written and committed (or, in a caller's transaction, written there)."""
        if in_callers_transaction():
            return await self._write_alone(intake)
        return await self.batches.write(intake)

    async def counted(self) -> None:
        """Wait until the popularity counts of written batches are sent (tests; shutdown)."""
        await asyncio.gather(*self._counting)

    async def _write_alone(self, intake: Intake) -> Written:
        [written] = await self.write_batch([intake])
        if isinstance(written, Exception):
            raise written
        return written

    async def write_batch(self, intakes: Sequence[Intake]) -> list[Written | Exception]:
        """All or nothing, one result per intake in order. A key already used, by an earlier
        request or by another in this batch, answers that first result; an applicant who may not
        submit is refused alone."""
        read = await self._with_applicants([i.checked for i in intakes])
        results: list[Written | Exception | None] = [c if isinstance(c, Exception) else None for c in read]
        intakes = [i if isinstance(c, Exception) else Intake(c, i.key, i.request_hash)
                   for i, c in zip(intakes, read)]
        first = await claims(intakes, results)
        if first:
            views = await self._write_fresh([intakes[i] for i in first.values()])
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
        now = self.transitions.clock.now()
        checked = [i.checked for i in fresh]
        apps = await self._numbered_drafts(checked, now)
        befores = []
        for app in apps:  # draft -> submitted by the same rule as every move, before anything is written
            before, fields = self.transitions.plan(app, "submit", at=now)
            befores.append(before)
            for name, value in fields.items():
                setattr(app, name, value)
        async with in_transaction() as conn:
            await self._insert(conn, fresh, apps, now)
            submits = [record_of(app, "submit", before, Actor(rules.CITIZEN, app.person_id), at=now)
                       for app, before in zip(apps, befores)]
            await insert_rows(Transition, [fields_of(t) for t in submits], connection=conn)
            await self.transitions.announce(conn, [notice_of(app, "submit", before, at=now)
                                                   for app, before in zip(apps, befores)])
            attached = [await self.materials.attach(conn, app, s.materials, now) if s.materials else []
                        for app, s in zip(apps, checked)]
            decided = [await self._instant_approval(conn, app, s, files, now)
                       if s.matter.instant_approval else [] for app, s, files in zip(apps, checked, attached)]
            await self.delivery.enqueue_many([NewDelivery(
                kind="node.application.submitted", target=app.node_code,
                dedupe_key=f"application:{app.number}:submitted",
                payload=self._submitted_payload(app, s, files))
                for app, s, files in zip(apps, checked, attached)], connection=conn)
        self._count_in_background([s.matter.id for s in checked])
        today = self.transitions.today()
        return [application_view(app, today, node_name=s.node_name, form=s.form,
                                 materials=tuple(material_view(m) for m in files),
                                 timeline=tuple(transition_view(t) for t in (submit, *later)))
                for app, s, files, submit, later in zip(apps, checked, attached, submits, decided)]

    async def _insert(self, conn: BaseDBAsyncClient, fresh: list[Intake], apps: list[Application],
                      now: datetime) -> None:
        """The keys and the applications, each table in one statement; the applications' ids set."""
        await insert_rows(IdempotencyKey, key_rows(fresh, [app.number for app in apps], now), connection=conn)
        ids = {row["number"]: row["id"] for row in await insert_rows(
            Application, [fields_of(app) for app in apps], connection=conn, returning=("id", "number"))}
        for app in apps:
            app.id = ids[app.number]

    async def _instant_approval(self, conn: BaseDBAsyncClient, app: Application, checked: Submission,
                                attached: list[Material], now: datetime) -> list[Transition]:
        """The instant-approval step's decision, recorded; approved, the application moves on to
        completed at once. Returns the transitions that took."""
        matter = checked.matter
        decision = await self.approval.decide(ApprovalRequest(
            number=app.number, person_id=app.person_id, assurance=checked.applicant.assurance,
            matter_code=matter.code, catalog_code=matter.catalog_code,
            matter_instant_approval=matter.instant_approval, region_code=matter.region_code,
            department_code=matter.department_code, form=checked.form,
            materials=[material_payload(m, app.number) for m in attached], submitted_at=now), connection=conn)
        return [] if decision is None else await self._record_decision(conn, app, decision, now)

    async def _record_decision(self, conn: BaseDBAsyncClient, app: Application, decision: ApprovalDecision,
                               now: datetime) -> list[Transition]:
        app.decision = {"approved": decision.approved, "checks": decision.checks, "results": decision.results,
                        "decided_at": now.isoformat()}
        await Application.filter(id=app.id).using_db(conn).update(decision=app.decision)
        if not decision.approved:
            return []
        return [await self.transitions.take(conn, app, name, Actor(rules.SYSTEM, INSTANT_ACTOR), at=now,
                                            reason="系统自动审批")
                for name in ("accept", "approve", "complete")]

    async def _numbered_drafts(self, submissions: Sequence[Submission], now: datetime) -> list[Application]:
        """Unsaved drafts with their numbers, taken per region (see ``next_sequences``) in the
        order given, and their provisional deadlines (until the department accepts)."""
        today = now.astimezone(SHANGHAI).date()
        taken = await next_sequences(today, Counter(s.matter.region_code[:6] for s in submissions))
        drafts = []
        for s in submissions:
            region6, matter = s.matter.region_code[:6], s.matter
            sequence, taken[region6] = taken[region6], taken[region6] + 1
            due_on, basis = working_days.add_working_days(today, matter.promised_limit_days)
            drafts.append(unsaved(
                Application, number=rules.number_of(matter.region_code, today, sequence),
                person_id=s.person_id, matter_code=matter.code, matter_name=matter.name,
                department_code=matter.department_code, region_code=matter.region_code, node_code=s.node_code,
                channel=s.channel, entry=s.entry,
                status=rules.DRAFT, form_sealed=seal_form(self.vault, s.form),
                promised_limit_days=matter.promised_limit_days, due_on=due_on, calendar_basis=basis,
                submitted_at=now, version=1, created_at=now, updated_at=now))
        return drafts

    def _submitted_payload(self, app: Application, checked: Submission, attached: list[Material]) -> dict:
        applicant = checked.applicant
        return {
            "number": app.number, "matter_code": app.matter_code, "matter_name": app.matter_name,
            "department_code": app.department_code, "region_code": app.region_code,
            "applicant": {"person_ref": person_ref(self.vault, app.person_id),
                          "name_masked": applicant.name_masked, "assurance": f"L{applicant.assurance}"},
            "form": checked.form, "materials": [material_payload(m, app.number) for m in attached],
            "submitted_at": app.submitted_at.isoformat(), "promised_due_on": app.due_on.isoformat(),
            "callback": f"/gov/v1/applications/{app.number}/events",
            "decision": app.decision,
        }

    def _count_in_background(self, matter_ids: list[int]) -> None:
        # Not awaited: the batch's writer is a queue every submit waits in, and awaiting Redis
        # there stalled it (measured: docs/benchmarks.md, "Submit throughput"). A context of its
        # own: never a caller's open transaction (a batch of one may be written inside one).
        counting = asyncio.create_task(self.catalog.count_applications(matter_ids),
                                       context=contextvars.Context())
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
