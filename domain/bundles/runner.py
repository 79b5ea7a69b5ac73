"""The runner: turns a bundle run into applications and follows them to the end. Each pass plans
from the steps' statuses (``rules.plan``), submits what may go, reconciles what a department
decided, compensates what another step's failure undid, and records every move on the run's
timeline. One runner at a time per run: a lease taken by a conditional update, like the outbox
relay's (docs/bundles.md)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from domain.applications import rules as application_rules
from domain.bundles import rules
from domain.bundles.confirmations import Confirmations
from domain.bundles.models import BundleEvent, BundleRun, BundleStep
from domain.shared.clock import Clock
from domain.shared.errors import DomainError

log = logging.getLogger("govhub.bundles")

LEASE = timedelta(seconds=120)
SWEEP_AFTER = timedelta(seconds=60)  # an open run untouched this long is looked at again
MAX_PASSES = 6
TRANSIENT = ("unavailable", "rate_limited")  # a step's submission waits and is tried again


class BundleRunner:
    def __init__(self, *, clock: Clock, applications, licenses, confirmation: Confirmations,
                 open_form: Callable[[str], dict]) -> None:
        """``applications``, ``licenses``: those modules' services; ``open_form``: the run's sealed form."""
        self.clock, self.applications, self.licenses = clock, applications, licenses
        self.confirmation, self._open = confirmation, open_form

    async def on_transitions(self, notices, *, connection) -> None:
        """ApplicationService listener: a step's application moved, so its run needs a look.
        Inside the transition's transaction: the flag commits (or rolls back) with it."""
        numbers = sorted({notice.number for notice in notices if not notice.new})  # a new one is in no run yet
        if not numbers:
            return
        run_ids = await BundleStep.filter(application_number__in=numbers).using_db(connection).values_list(
            "run_id", flat=True)
        if run_ids:
            await BundleRun.filter(id__in=list(run_ids)).using_db(connection).update(needs_advance=True)

    async def advance_due(self, *, limit: int = 50) -> dict[str, int]:
        """The job: runs flagged by a transition, and open runs nobody looked at for a while."""
        now = self.clock.now()
        flagged = await BundleRun.filter(needs_advance=True).order_by("updated_at").limit(limit).values_list(
            "id", flat=True)
        quiet = await BundleRun.filter(status__in=(*rules.OPEN_RUN, rules.FAILED_RUN),
                                       updated_at__lt=now - SWEEP_AFTER).order_by("updated_at").limit(
            limit).values_list("id", flat=True)
        advanced = 0
        for run_id in dict.fromkeys([*flagged, *quiet]):
            advanced += await self.advance(run_id)
        return {"advanced": advanced}

    async def advance(self, run_id: int) -> bool:
        """Move one run as far as it goes now. False when another runner holds it."""
        now = self.clock.now()
        claimed = await BundleRun.filter(Q(lease_until=None) | Q(lease_until__lt=now), id=run_id).update(
            lease_until=now + LEASE, needs_advance=False)
        if not claimed:
            return False
        try:
            for _ in range(MAX_PASSES):  # a pass's submissions may finish at once (instant approval)
                if not await self._pass(run_id):
                    break
        finally:
            await BundleRun.filter(id=run_id).update(lease_until=None, updated_at=self.clock.now())
        return True

    async def _pass(self, run_id: int) -> bool:
        run = await BundleRun.get(id=run_id)
        bundle = rules.parse(run.definition)
        steps = {s.key: s for s in await BundleStep.filter(run_id=run.id)}
        changed = False
        for step in steps.values():
            if step.status == rules.IN_PROGRESS:
                changed |= await self._reconcile(run, bundle, step)
        ordered = rules.order(bundle.steps)
        plan = rules.plan([rules.StepState(
            key=s.key, status=steps[s.key].status, after=s.after, optional=s.optional,
            needs_confirmation=s.key in bundle.confirmation_before, compensable=s.compensation is not None)
            for s in ordered], confirmation=run.confirmation)
        for key in plan.block:
            changed |= await self._set(run, steps[key], rules.BLOCKED, "因前序步骤未通过，本步骤暂停")
        for key in plan.wait_confirmation:
            if steps[key].status != rules.WAITING_CONFIRMATION:
                await self._set(run, steps[key], rules.WAITING_CONFIRMATION,
                                f"等待{bundle.confirmation['title']}" if bundle.confirmation else "等待确认")
        answers = self._open(run.form_sealed) if plan.submit or plan.compensate else {}
        outputs = {k: s.outputs for k, s in steps.items() if s.status in (rules.DONE, rules.COMPENSATED)}
        for key in plan.submit:
            changed |= await self._submit_step(run, bundle, bundle.step(key), steps[key], answers, outputs)
        for key in plan.compensate:
            changed |= await self._compensate(run, bundle.step(key), steps[key], answers, outputs)
        if plan.status != run.status:
            await self._status(run, plan.status)
            changed = True
        return changed

    async def _reconcile(self, run: BundleRun, bundle: rules.BundleDef, step: BundleStep) -> bool:
        """The step's application as it is now: done (outputs collected), failed (why), or still
        with the department."""
        view = await self.applications.detail(person_id=run.person_id, number=step.application_number)
        outcome = rules.application_outcome(view.status, [t.name for t in view.timeline])
        now = self.clock.now()
        if outcome == rules.IN_PROGRESS:
            if view.status == step.application_status:
                return False
            await BundleStep.filter(id=step.id).update(application_status=view.status, updated_at=now)
            step.application_status = view.status
            return False  # the bundle's plan does not change while a department works
        definition = bundle.step(step.key)
        if outcome == rules.DONE:
            step.outputs = await self._outputs(run, bundle, definition, step, view)
            await self._set(run, step, rules.DONE, f"{definition.title}：已办结", application_status=view.status,
                            outputs=step.outputs, finished_at=now)
        else:
            decisive = [t for t in view.timeline if t.name in ("reject", "refuse", "withdraw")]
            failure = rules.failure_advice(view.status if view.status != "completed" else "refused",
                                           decisive[-1].reason if decisive else None)
            await self._set(run, step, rules.FAILED, f"{definition.title}：{failure['reason']}",
                            application_status=view.status, failure=failure, finished_at=now)
        return True

    async def _outputs(self, run: BundleRun, bundle: rules.BundleDef, definition: rules.StepDef, step: BundleStep,
                       view) -> dict:
        """What the step gave: the department's reference, the application number, and the
        licenses it issued into the applicant's wallet (only the fields later steps read)."""
        found: dict[str, Any] = {"number": view.number, "reference": view.department_reference, "licenses": {}}
        wanted = rules.license_fields_read(bundle, step.key)
        # looked for in the applicant's wallet whatever the declared owner: a birth certificate is
        # the mother's, and the mother may be the applicant; a child's own licenses are not there
        mine = [p["license_type"] for p in definition.produces]
        if not mine:
            return found
        since = step.submitted_at or run.created_at
        for summary in await self.licenses.wallet(person_id=run.person_id):  # newest first
            if summary.type_code in mine and summary.type_code not in found["licenses"] and summary.issued_at >= since:
                entry = {"license_id": summary.id, "number": summary.number, "type_name": summary.type_name}
                if wanted.get(summary.type_code):
                    data = (await self.licenses.detail(person_id=run.person_id, license_id=summary.id)).data
                    entry["data"] = {k: data.get(k) for k in wanted[summary.type_code]}
                found["licenses"][summary.type_code] = entry
        return found

    async def _submit_step(self, run: BundleRun, bundle: rules.BundleDef, definition: rules.StepDef,
                           step: BundleStep, answers: dict, outputs: dict) -> bool:
        """The step's application, through the applications service and its outbox. The key
        makes a repeat (a crashed runner, a second host) answer the same application."""
        if definition.key in bundle.confirmation_before and not self.confirmation.holds(run, bundle, answers):
            # the one guard: only with the facts and parties the other party confirmed
            if run.confirmation == "confirmed":
                await self.confirmation.void(run, bundle, "确认的内容已变更")
            return True
        form = rules.step_form(definition.fields, answers, outputs)
        key = f"bundle:{run.number}:{step.key}:{step.attempt}"
        now = self.clock.now()
        try:
            result = await self.applications.submit(person_id=run.person_id, channel=run.channel,
                                                    matter_code=definition.matter_code, form=form, materials=[],
                                                    idempotency_key=key, entry=application_rules.BUNDLE)
        except DomainError as error:
            if error.kind in TRANSIENT:  # e.g. no node handles the matter yet: tried again later
                if step.last_error != error.detail:
                    await BundleStep.filter(id=step.id).update(last_error=error.detail, updated_at=now)
                    await self._event(run, step.key, "waiting", f"{definition.title}：暂时无法提交（{error.title}），稍后自动重试")
                    step.last_error = error.detail
                return False
            failure = rules.submit_failure(error.title, error.detail)
            await self._set(run, step, rules.FAILED, f"{definition.title}：{failure['reason']}", failure=failure,
                            finished_at=now)
            return True
        application = result.application
        await self._set(run, step, rules.IN_PROGRESS, f"{definition.title}：已提交至{application.node_name or application.node_code}，"
                        f"办件编号 {application.number}", application_number=application.number,
                        application_status=application.status, submitted_at=application.submitted_at,
                        last_error=None)
        step.submitted_at = application.submitted_at
        # a decision taken inside submit (instant approval) is seen at once
        await self._reconcile(run, bundle, step)
        return True

    async def _compensate(self, run: BundleRun, definition: rules.StepDef, step: BundleStep, answers: dict,
                          outputs: dict) -> bool:
        """Undo a step after another failed: a step still with its department is withdrawn; a
        finished one gets its declared undoing matter (e.g. the appointment cancelled)."""
        now = self.clock.now()
        if step.status == rules.IN_PROGRESS:
            try:
                await self.applications.withdraw(
                    person_id=run.person_id, number=step.application_number,
                    reason="“一件事”中其他步骤未通过，自动撤回",
                    idempotency_key=f"bundle:{run.number}:{step.key}:{step.attempt}:withdraw")
            except DomainError as error:  # decided meanwhile: undone once it is done
                log.info("bundle %s: %s not withdrawn (%s); undone when it finishes", run.number, step.key, error.code)
                return False
            await self._set(run, step, rules.COMPENSATED, f"{definition.title}：已自动撤回")
            return True
        undo = definition.compensation
        form = rules.step_form(undo.get("fields", {}), answers, {**outputs, step.key: step.outputs})
        try:
            result = await self.applications.submit(
                person_id=run.person_id, channel=run.channel, matter_code=undo["matter_code"], form=form,
                materials=[], idempotency_key=f"bundle:{run.number}:{step.key}:{step.attempt}:undo",
                entry=application_rules.BUNDLE)
        except DomainError as error:
            if step.last_error != error.detail:
                await BundleStep.filter(id=step.id).update(last_error=error.detail, updated_at=now)
                await self._event(run, step.key, "compensation_failed",
                                  f"{definition.title}：撤销未能提交（{error.title}），稍后自动重试")
                step.last_error = error.detail
            return False
        number = result.application.number
        await self._set(run, step, rules.COMPENSATED,
                        f"{definition.title}：已自动申请撤销（{result.application.matter_name}，办件编号 {number}）",
                        compensation_number=number)
        return True

    async def _set(self, run: BundleRun, step: BundleStep, status: str, message: str, **changes: Any) -> bool:
        now = self.clock.now()
        async with in_transaction() as conn:
            await BundleStep.filter(id=step.id).using_db(conn).update(status=status, updated_at=now, **changes)
            await BundleEvent.create(run_id=run.id, step_key=step.key, at=now, kind=status, message=message,
                                     using_db=conn)
        step.status = status
        for name, value in changes.items():
            setattr(step, name, value)
        return True

    async def _status(self, run: BundleRun, status: str) -> None:
        now = self.clock.now()
        changes: dict[str, Any] = {"status": status, "updated_at": now}
        if status == rules.COMPLETED:
            changes["completed_at"] = now
        await BundleRun.filter(id=run.id).update(**changes)
        await self._event(run, None, f"run_{status}", f"“{run.bundle_name}”：{rules.RUN_NAMES[status]}")
        run.status = status
        log.info("bundle %s is now %s", run.number, status)

    async def _event(self, run: BundleRun, step_key: str | None, kind: str, message: str) -> None:
        await BundleEvent.create(run_id=run.id, step_key=step_key, at=self.clock.now(), kind=kind, message=message)
