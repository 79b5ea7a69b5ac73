"""Bundle use cases: the one form for citizens, and the runner that turns a bundle into
applications and follows them to the end (docs/bundles.md). Product teams' declarations are in
``declarations.py`` (``BundleService.declarations``), what the use cases return in ``views.py``.

Guarantees, and what makes them hold:
- **One submission, one bundle.** ``submit`` records its Idempotency-Key (domain/shared/idempotency.py)
  in the transaction that inserts the run; a concurrent duplicate fails on the key's unique row and
  answers the first run.
- **Never a step done twice.** A step's application is submitted through ``ApplicationService.submit``
  with the Idempotency-Key ``bundle:<run>:<step>:<attempt>``: a runner that crashed after submitting
  and before recording gets the same application back. A retry raises the attempt only of steps
  that failed, were blocked or were undone.
- **One runner at a time per run**: a lease (``lease_until``) taken by a conditional update, like
  the outbox relay's, so the listener-driven job, a request and a second host never interleave.
- **Only what the other party confirmed.** A step waiting for the confirmation is submitted only
  while the form gives the digest the confirmation carries (``Confirmations.holds``, checked in
  ``BundleRunner._submit_step`` whatever led there); a retry that changes a covered fact or party voids it.
- **Driven by application transitions.** ``on_transitions`` (an ApplicationService listener, inside
  the transition's own transaction) only sets ``needs_advance``; the job advances flagged runs, and
  sweeps open runs now and then so nothing depends on a flag alone.
"""
from __future__ import annotations

import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from tortoise.transactions import in_transaction

from domain.applications import rules as application_rules
from domain.bundles import rules
from domain.bundles.confirmations import Confirmations
from domain.bundles.declarations import BundleDeclarations, bundle_row
from domain.bundles.errors import (
    BundleFormInvalid,
    BundleNotPublished,
    BundleNotRetryable,
    BundleRunNotFound,
)
from domain.bundles.models import Bundle, BundleEvent, BundleRun, BundleStep
from domain.bundles.runner import BundleRunner
from domain.bundles.views import (
    ConfirmationView,
    EventView,
    PrefilledForm,
    RunView,
    SubmitResult,
    masked_form,
    run_view,
    step_view,
)
from domain.identity.errors import AssuranceRequired
from domain.shared import idempotency
from domain.shared.clock import SHANGHAI, Clock
from domain.shared.errors import IdempotencyKeyRequired
from domain.shared.values import mask_id_number, mask_name
from domain.shared.vault import Vault

log = logging.getLogger("govhub.bundles")
alert = logging.getLogger("govhub.bundles.alert")

FORM_CONTEXT = "bundle.form"
SCOPE = "bundles"  # of its Idempotency-Keys
REQUIRED_ASSURANCE = 2


class BundleService:
    def __init__(self, *, clock: Clock, vault: Vault, catalog, applications, identity, licenses) -> None:
        """``catalog``, ``applications``, ``identity``, ``licenses``: those modules' services."""
        self.clock, self.vault = clock, vault
        self.catalog, self.applications, self.identity, self.licenses = catalog, applications, identity, licenses
        self.declarations = BundleDeclarations(clock=clock, catalog=catalog, licenses=licenses)  # /admin/v1
        self.confirmation = Confirmations(clock=clock, vault=vault, identity=identity,
                                          real_name=self._real_name, open_form=self._open)
        self.runner = BundleRunner(clock=clock, applications=applications, licenses=licenses,
                                   confirmation=self.confirmation, open_form=self._open)

    # === citizens: what there is, the one form ================================================

    async def published(self) -> list[dict]:
        rows = await Bundle.filter(status="published").order_by("code")
        return [row.published for row in rows]

    async def describe(self, *, code: str) -> dict:
        return await self._published(code)

    async def prefilled(self, *, person_id: str, code: str) -> PrefilledForm:
        """The one form, with every answer the hub already knows ("once only"): identity fields
        from the real-name record, others from the newest valid license in the wallet."""
        raw = await self._published(code)
        bundle = rules.parse(raw)
        identity = await self._real_name(person_id)
        values, sources = {}, {}
        for name, source in rules.locked_fields(bundle).items():
            clear = identity["name" if source == "identity.name" else "id_number"]
            values[name] = mask_name(clear) if source == "identity.name" else mask_id_number(clear)
            sources[name] = source
        wallet = await self._wallet_data(person_id, {t for t, _ in rules.license_prefill(bundle).values()})
        for name, (license_type, field_name) in rules.license_prefill(bundle).items():
            value = wallet.get(license_type, {}).get(field_name)
            if value is not None:
                values[name], sources[name] = value, f"license.{license_type}.{field_name}"
        return PrefilledForm(bundle=raw, values=values, sources=sources, locked=tuple(rules.locked_fields(bundle)))

    async def _published(self, code: str) -> dict:
        row = await bundle_row(code)
        if row.published is None or row.status != "published":
            raise BundleNotPublished(f"“{row.name}”尚未上线")
        return row.published

    async def _real_name(self, person_id: str) -> dict:
        person = await self.identity.me(person_id=person_id)
        if person.assurance < REQUIRED_ASSURANCE:
            raise AssuranceRequired("办理“一件事”前请先完成实名认证", required="L2", current=f"L{person.assurance}")
        return await self.identity.reveal(person_id=person_id)

    async def _wallet_data(self, person_id: str, types: set[str]) -> dict[str, dict]:
        """The newest valid license of each type, its data as the wallet shows it (masked
        sensitive fields; reading it is logged in the citizen's access log)."""
        if not types:
            return {}
        found = {}
        for summary in await self.licenses.wallet(person_id=person_id):  # newest first
            if summary.type_code in types and summary.type_code not in found and summary.status == "valid":
                detail = await self.licenses.detail(person_id=person_id, license_id=summary.id)
                found[summary.type_code] = {"license_id": summary.id, **detail.data}
        return found

    # === citizens: submit, follow, retry ======================================================

    async def submit(self, *, person_id: str, channel: str, code: str, form: dict, optional_steps: list[str],
                     idempotency_key: str | None) -> SubmitResult:
        if not idempotency_key:
            raise IdempotencyKeyRequired("提交须带 Idempotency-Key 请求头（每次新申请一个新值，重试时不变）")
        claim = idempotency.Claim(scope=SCOPE, person_id=person_id, key=idempotency_key,
                                  request_hash=idempotency.fingerprint({"code": code, "form": form,
                                                                        "optional_steps": sorted(optional_steps)}))

        async def replay(number: str) -> SubmitResult:
            return SubmitResult(await self.run(person_id=person_id, number=number), replayed=True)

        async def write() -> SubmitResult:
            run = await self._start(person_id, channel, code, form, optional_steps, claim)
            await self.advance(run.id)
            return SubmitResult(await self.run(person_id=person_id, number=run.number), replayed=False)

        return await idempotency.once(claim, write=write, replay=replay)

    async def _start(self, person_id: str, channel: str, code: str, form: dict, optional_steps: list[str],
                     claim: idempotency.Claim) -> BundleRun:
        """The run, its steps and its first event, with the submission's key, in one transaction."""
        raw = await self._published(code)
        bundle = rules.parse(raw)
        identity = await self._real_name(person_id)
        answers = self._complete_form(bundle, form, identity)
        problems = rules.optional_problems(bundle, optional_steps)
        if problems:
            raise BundleFormInvalid("可选步骤有误", errors=problems)
        confirmer = self.confirmation.confirmer_hash(bundle, answers, identity["id_number"])
        now = self.clock.now()
        number = _number(bundle.region_code, now)
        async with in_transaction() as conn:
            await idempotency.record(conn, claim, now, result=number)
            run = await BundleRun.create(
                number=number, person_id=person_id, bundle_code=bundle.code,
                bundle_version=(await bundle_row(code)).published_version, bundle_name=bundle.name,
                definition=raw, channel=channel, status=rules.RUNNING, form_sealed=self._seal(answers),
                chosen_optional=sorted(set(optional_steps)), confirmer_hash=confirmer, needs_advance=True,
                deadline_at=now + timedelta(days=bundle.deadline_days), created_at=now, updated_at=now,
                using_db=conn)
            for step in bundle.steps:
                skipped = step.optional and step.key not in optional_steps
                await BundleStep.create(run=run, key=step.key, status=rules.SKIPPED if skipped else rules.PENDING,
                                        outputs={}, history=[], updated_at=now, using_db=conn)
            await BundleEvent.create(run=run, at=now, kind="submitted", message=f"已提交“{bundle.name}”",
                                     using_db=conn)
        log.info("bundle %s submitted: %s", run.number, bundle.code)
        return run

    def _complete_form(self, bundle: rules.BundleDef, form: Any, identity: dict) -> dict:
        """The citizen's answers with the locked identity fields set by the hub; validated."""
        if not isinstance(form, dict):
            raise BundleFormInvalid("表单应为对象", errors=[{"field": "form", "message": "应为对象"}])
        answers = dict(form)
        for name, source in rules.locked_fields(bundle).items():
            answers[name] = identity["name" if source == "identity.name" else "id_number"]
        problems = rules.form_errors(bundle, answers)
        if problems:
            raise BundleFormInvalid("请检查以下字段：" + "、".join(p["field"] for p in problems), errors=problems)
        return answers

    async def runs(self, *, person_id: str, limit: int = 20) -> list[RunView]:
        rows = await BundleRun.filter(person_id=person_id).order_by("-id").limit(max(1, min(limit, 50)))
        return [run_view(r) for r in rows]

    async def run(self, *, person_id: str, number: str) -> RunView:
        return await self._detail(await self._own(person_id, number))

    async def retry(self, *, person_id: str, number: str, form_changes: dict | None = None) -> RunView:
        """Redo only what did not succeed: failed, blocked and undone steps get a new attempt
        (and a new application); done and running steps are left alone. ``form_changes`` corrects
        answers first (the locked identity fields stay the hub's). Real name is asked before the
        run is looked up, as on every bundle route: the level answers alike whatever is named."""
        identity = await self._real_name(person_id)
        run = await self._own(person_id, number)
        steps = await BundleStep.filter(run_id=run.id)
        targets = rules.retry_targets({s.key: s.status for s in steps})
        if not targets and run.confirmation != "declined":
            raise BundleNotRetryable("没有未通过的步骤需要重试", current_status=run.status)
        bundle = rules.parse(run.definition)
        for key in targets:  # a step only a bundle may submit; refused now, before anything is reset
            await self.applications.check_entry(matter_code=bundle.step(key).matter_code,
                                                entry=application_rules.BUNDLE)
        before = answers = self._open(run.form_sealed)
        if form_changes:
            answers = self._complete_form(bundle, {**before, **form_changes}, identity)
        # a changed fact or party the other parent confirmed voids the confirmation (the new party is asked)
        statuses = {s.key: s.status for s in steps}
        confirmation = self.confirmation.after_retry(run, bundle, before, answers, statuses, identity["id_number"])
        now = self.clock.now()
        async with in_transaction() as conn:
            updated = await BundleRun.filter(id=run.id, version=run.version).using_db(conn).update(
                status=rules.RUNNING, form_sealed=self._seal(answers), needs_advance=True, updated_at=now,
                version=run.version + 1, **confirmation.changes)
            if not updated:
                raise BundleNotRetryable("该“一件事”正在被处理，请刷新后重试")
            for step in steps:
                if step.key in targets:
                    await _reset_for_retry(conn, step, now)
            await BundleEvent.create(run_id=run.id, at=now, kind="retried", using_db=conn,
                                     message="重试未通过的步骤：" + "、".join(bundle.step(k).title for k in targets))
            if confirmation.voided_because:
                title = bundle.confirmation["title"]
                await BundleEvent.create(run_id=run.id, at=now, kind="confirmation_voided", using_db=conn,
                                         message=f"{title}：{confirmation.voided_because}，需重新确认")
        await self.advance(run.id)
        return await self.run(person_id=person_id, number=number)

    async def _own(self, person_id: str, number: str) -> BundleRun:
        run = await BundleRun.get_or_none(number=number, person_id=person_id) if isinstance(number, str) else None
        if run is None:  # another person's bundle looks exactly like one that does not exist
            raise BundleRunNotFound(f"未找到“一件事”办件 {number}")
        return run

    # === the second party's confirmation ======================================================

    async def confirmations(self, *, person_id: str) -> list[ConfirmationView]:
        """Bundles waiting for this person's confirmation (found by their real-name ID number)."""
        return await self.confirmation.waiting(person_id=person_id)

    async def confirm(self, *, person_id: str, number: str, decision: str,
                      digest: str | None = None) -> ConfirmationView:
        """Confirm (with the ``digest`` of what one was shown) or decline; the run moves on at once."""
        run = await self.confirmation.decide(person_id=person_id, number=number, decision=decision,
                                             digest=digest)
        await self.advance(run.id)
        return await self.confirmation.view(await BundleRun.get(id=run.id))

    # === the runner (runner.py) ==============================================================

    async def on_transitions(self, notices, *, connection) -> None:
        """ApplicationService listener: a step's application moved, so its run needs a look."""
        await self.runner.on_transitions(notices, connection=connection)

    async def advance_due(self, *, limit: int = 50) -> dict[str, int]:
        """The job: runs flagged by a transition, and open runs nobody looked at for a while."""
        return await self.runner.advance_due(limit=limit)

    async def advance(self, run_id: int) -> bool:
        """Move one run as far as it goes now. False when another runner holds it."""
        return await self.runner.advance(run_id)

    # === operators ============================================================================

    async def flag_stuck(self) -> dict[str, int]:
        """The job: open runs past their deadline are flagged once and alerted (a log line the
        alerting picks up); operators list them with ``operator_runs(stuck=True)``."""
        now = self.clock.now()
        rows = await BundleRun.filter(status__in=(*rules.OPEN_RUN, rules.FAILED_RUN), deadline_at__lt=now,
                                      stuck_at=None)
        for run in rows:
            if await BundleRun.filter(id=run.id, stuck_at=None).update(stuck_at=now):
                steps = await BundleStep.filter(run_id=run.id).exclude(status__in=(rules.DONE, rules.SKIPPED))
                alert.warning("bundle %s (%s) past its deadline", run.number, run.bundle_code, extra={
                    "code": "bundle_stuck", "number": run.number, "bundle": run.bundle_code, "status": run.status,
                    "open_steps": {s.key: s.status for s in steps}})
                await self._event(run, None, "stuck", "已超过办理期限，已提醒运营人员跟进")
        return {"flagged": len(rows)}

    async def operator_runs(self, *, status: str | None = None, stuck: bool | None = None,
                            bundle_code: str | None = None, limit: int = 50) -> list[RunView]:
        query = BundleRun.all()
        if status:
            query = query.filter(status=status)
        if stuck is not None:
            query = query.filter(stuck_at__isnull=not stuck)
        if bundle_code:
            query = query.filter(bundle_code=bundle_code)
        rows = await query.order_by("-id").limit(max(1, min(limit, 200)))
        return [await self._detail(r, with_form=False) for r in rows]

    async def operator_run(self, *, number: str) -> RunView:
        run = await BundleRun.get_or_none(number=number) if isinstance(number, str) else None
        if run is None:
            raise BundleRunNotFound(f"未找到“一件事”办件 {number}")
        return await self._detail(run, with_form=False)

    # === views ================================================================================

    async def _detail(self, run: BundleRun, *, with_form: bool = True) -> RunView:
        bundle = rules.parse(run.definition)
        rows = {s.key: s for s in await BundleStep.filter(run_id=run.id)}
        steps = tuple(step_view(d, rows[d.key]) for d in rules.order(bundle.steps) if d.key in rows)
        events = tuple(EventView(at=e.at, step_key=e.step_key, kind=e.kind, message=e.message)
                       for e in await BundleEvent.filter(run_id=run.id).order_by("id"))
        failed = tuple(s.key for s in steps if s.status == rules.FAILED)
        retryable = rules.retry_targets({s.key: s.status for s in steps}) or run.confirmation == "declined"
        view = run_view(run)
        return RunView(**{**view.__dict__, "steps": steps, "events": events, "failed_steps": failed,
                          "form": masked_form(bundle, self._open(run.form_sealed)) if with_form else None,
                          "allowed_actions": ("retry",) if retryable else ()})

    def _seal(self, answers: dict) -> str:
        return self.vault.seal(application_rules.canonical_json(answers), context=FORM_CONTEXT)

    def _open(self, sealed: str) -> dict:
        return json.loads(self.vault.open(sealed, context=FORM_CONTEXT))


# --- module helpers ---------------------------------------------------------------------------


async def _reset_for_retry(conn, step: BundleStep, now: datetime) -> None:
    """A new attempt of a step that did not succeed; the earlier one stays in its history."""
    history = list(step.history or [])
    attempt = step.attempt
    if step.application_number or step.failure:
        history.append({"attempt": step.attempt, "number": step.application_number, "status": step.status,
                        "failure": step.failure, "compensation_number": step.compensation_number})
        attempt += 1
    await BundleStep.filter(id=step.id).using_db(conn).update(
        status=rules.PENDING, attempt=attempt, application_number=None, application_status=None, failure=None,
        last_error=None, compensation_number=None, outputs={}, history=history, submitted_at=None,
        finished_at=None, updated_at=now)


def _number(region_code: str, now: datetime) -> str:
    """``B<region6>-<yyyymmdd>-<8 hex>``: readable, and not a counter another citizen could walk."""
    return f"B{region_code[:6]}-{now.astimezone(SHANGHAI):%Y%m%d}-{secrets.token_hex(4).upper()}"
