"""The second party's confirmation of a run, bound to what was confirmed (docs/bundles.md,
"Second parent"; what it covers: ``confirmation_rules``).

A confirmation carries the keyed digest of the facts and parties it covers, made when the other
party confirms what they were shown (``decide`` refuses a digest that is no longer the run's).
``holds`` is the one guard: the runner asks it before it submits any step waiting for the
confirmation, so a step goes to its department only with the facts and parties confirmed. A
retry that changes a covered fact or party voids the confirmation (``after_retry``) and asks the
other party again: the new one when the party changed; the old one is no longer asked and can
no longer confirm.
"""
from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tortoise.transactions import in_transaction

from domain.bundles import confirmation_rules, rules
from domain.bundles.errors import (
    BundleFormInvalid,
    ConfirmationChanged,
    ConfirmationClosed,
    ConfirmationNotAllowed,
    ConfirmationNotFound,
    ConfirmedFactsSent,
)
from domain.bundles.models import BundleEvent, BundleRun, BundleStep
from domain.bundles.views import ConfirmationView
from domain.shared.clock import Clock
from domain.shared.errors import InvalidInput
from domain.shared.values import mask_id_number
from domain.shared.vault import Vault

CONFIRMER_CONTEXT = "bundle.confirmer"
DIGEST_CONTEXT = "bundle.confirmation"
VOID = {"confirmation": None, "confirmed_at": None, "confirmer_id": None, "confirmation_digest": None}


@dataclass(frozen=True)
class RetryConfirmation:
    """What a retry does to the run's confirmation: the columns to change, and why (for the
    timeline) when a confirmation given is voided."""

    changes: dict[str, Any] = field(default_factory=dict)
    voided_because: str | None = None


class Confirmations:
    def __init__(self, *, clock: Clock, vault: Vault, identity,
                 real_name: Callable[[str], Awaitable[dict]], open_form: Callable[[str], dict]) -> None:
        """``real_name``: a person's clear identity once they passed real name (L2);
        ``open_form``: a run's sealed answers, opened."""
        self.clock, self.vault, self.identity = clock, vault, identity
        self._real_name, self._open = real_name, open_form

    # --- the digest and the guard ---------------------------------------------------------

    def digest(self, number: str, bundle: rules.BundleDef, answers: Mapping[str, Any]) -> str:
        """Keyed (the vault's lookup key): the covered facts are personal data."""
        return self.vault.lookup_hash(confirmation_rules.statement(bundle, answers, number=number),
                                      context=DIGEST_CONTEXT)

    def holds(self, run: BundleRun, bundle: rules.BundleDef, answers: Mapping[str, Any]) -> bool:
        """The run was confirmed, and for exactly these facts and parties. A confirmation given
        before digests were kept has none: it holds nothing, and the other party is asked again."""
        return (run.confirmation == "confirmed" and run.confirmation_digest is not None
                and hmac.compare_digest(run.confirmation_digest.encode(),
                                                        self.digest(run.number, bundle, answers).encode()))

    def confirmer_hash(self, bundle: rules.BundleDef, answers: Mapping[str, Any],
                       applicant_id_number: str) -> str | None:
        """Whose confirmation the bundle waits for, as a keyed hash of their ID number."""
        if bundle.confirmation is None:
            return None
        parties = bundle.confirmation["parties"]
        try:
            other = rules.confirmer_number(bundle, answers, applicant_id_number)
        except ValueError:
            raise BundleFormInvalid("申请人应为其中一方", errors=[
                {"field": f"form.{name}", "message": "其中之一应为申请人本人的身份证号码"} for name in parties]) from None
        if other is None:
            raise BundleFormInvalid("另一方不能是申请人本人", errors=[
                {"field": f"form.{name}", "message": "应分别填写双方的身份证号码"} for name in parties])
        return self.vault.lookup_hash(other, context=CONFIRMER_CONTEXT)

    async def void(self, run: BundleRun, bundle: rules.BundleDef, because: str) -> bool:
        """The runner found a confirmation that does not hold: it no longer counts. False when
        the run changed meanwhile (the next pass reads it again)."""
        now = self.clock.now()
        async with in_transaction() as conn:
            updated = await BundleRun.filter(id=run.id, version=run.version).using_db(conn).update(
                **VOID, version=run.version + 1, needs_advance=True, updated_at=now)
            if updated:
                await BundleEvent.create(run_id=run.id, at=now, kind="confirmation_voided", using_db=conn,
                                         message=f"{_title(bundle)}：{because}，需重新确认")
        if updated:
            run.version, run.confirmation, run.confirmation_digest = run.version + 1, None, None
        return bool(updated)

    def after_retry(self, run: BundleRun, bundle: rules.BundleDef, before: Mapping[str, Any],
                    after: Mapping[str, Any], statuses: Mapping[str, str],
                    applicant_id_number: str) -> RetryConfirmation:
        """A changed covered fact or party voids the confirmation and asks the (new) other party;
        once a step sent the confirmed facts, they cannot change (ConfirmedFactsSent). A
        declined confirmation is asked again whatever changed."""
        if bundle.confirmation is None:
            return RetryConfirmation()
        moved = confirmation_rules.changed(bundle, before, after)
        if moved and (sent := confirmation_rules.sent_steps(bundle, statuses)):
            names = "、".join(bundle.step(key).title for key in sent)
            raise ConfirmedFactsSent(f"“{names}”已按另一方确认的内容提交，不能再修改：" + "、".join(moved),
                                     fields=[f"form.{name}" for name in moved])
        changes: dict[str, Any] = {}
        if set(moved) & set(confirmation_rules.parties(bundle)):
            changes["confirmer_hash"] = self.confirmer_hash(bundle, after, applicant_id_number)
        if run.confirmation == "declined" or (moved and run.confirmation is not None):
            changes.update(VOID)
        if not (moved and run.confirmation == "confirmed"):
            return RetryConfirmation(changes=changes)
        return RetryConfirmation(changes=changes, voided_because="确认的内容已变更（" + "、".join(_titles(bundle, moved)) + "）")

    # --- the other party ------------------------------------------------------------------

    async def waiting(self, *, person_id: str) -> list[ConfirmationView]:
        """Bundles waiting for this person's confirmation (found by their real-name ID number)."""
        mine = await self._confirmer_of(person_id)
        rows = await BundleRun.filter(confirmer_hash=mine, confirmation=None,
                                      status__in=rules.OPEN_RUN).exclude(person_id=person_id).order_by("-id")
        return [await self.view(r) for r in rows]

    async def decide(self, *, person_id: str, number: str, decision: str, digest: str | None) -> BundleRun:
        """Confirm what one was shown (``digest``, from ``waiting``) or decline. The run, decided."""
        mine = await self._confirmer_of(person_id)
        run = await BundleRun.get_or_none(number=number, confirmer_hash=mine) if isinstance(number, str) else None
        if run is None:
            raise ConfirmationNotFound(f"没有需要您确认的办件 {number}")
        if run.person_id == person_id:
            raise ConfirmationNotAllowed()
        if run.confirmation is not None:
            raise ConfirmationClosed(f"已{'确认' if run.confirmation == 'confirmed' else '拒绝'}",
                                     decision=run.confirmation)
        bundle = rules.parse(run.definition)
        current = self.digest(run.number, bundle, self._open(run.form_sealed))
        if decision == "confirmed" and not isinstance(digest, str):
            raise InvalidInput("确认时须带上所确认内容的 digest（见待确认列表）",
                               errors=[{"field": "digest", "message": "确认时必填"}])
        if decision == "confirmed" and not hmac.compare_digest(digest.encode(), current.encode()):
            raise ConfirmationChanged("您看到的内容已被申请人修改，请刷新后核对再确认")
        now = self.clock.now()
        async with in_transaction() as conn:
            unchanged = BundleRun.filter(id=run.id, version=run.version, confirmation=None).using_db(conn)
            updated = await unchanged.update(
                confirmation=decision, confirmed_at=now, confirmer_id=person_id, needs_advance=True,
                updated_at=now, confirmation_digest=current if decision == "confirmed" else None,
                version=run.version + 1)
            if not updated:  # a retry changed it, or another device decided, since it was read
                raise ConfirmationChanged("该办件刚刚有变动，请刷新后重试")
            said = "已确认" if decision == "confirmed" else "已拒绝"
            await BundleEvent.create(run_id=run.id, at=now, kind=f"confirmation_{decision}", using_db=conn,
                                     message=f"{_title(bundle)}：{said}")
            if decision == "declined":
                await BundleStep.filter(run_id=run.id, key__in=sorted(bundle.confirmation_before),
                                        status__in=(rules.PENDING, rules.WAITING_CONFIRMATION)).using_db(conn).update(
                    status=rules.FAILED, failure=rules.DECLINED, finished_at=now, updated_at=now)
        return run

    async def view(self, run: BundleRun) -> ConfirmationView:
        """What the other party sees, and confirms: every covered fact, the parties masked."""
        bundle = rules.parse(run.definition)
        answers = self._open(run.form_sealed)
        facts = {name: answers.get(name) for name in confirmation_rules.covered_facts(bundle)}
        for name in confirmation_rules.parties(bundle):
            facts[name] = mask_id_number(confirmation_rules.party_number(answers.get(name)))
        applicant = await self.identity.me(person_id=run.person_id)
        return ConfirmationView(number=run.number, bundle_name=run.bundle_name, title=_title(bundle),
                                applicant_name_masked=applicant.name_masked, facts=facts,
                                digest=self.digest(run.number, bundle, answers),
                                status=run.confirmation or "waiting", created_at=run.created_at)

    async def _confirmer_of(self, person_id: str) -> str:
        identity = await self._real_name(person_id)
        return self.vault.lookup_hash(identity["id_number"].upper(), context=CONFIRMER_CONTEXT)


def _title(bundle: rules.BundleDef) -> str:
    return bundle.confirmation["title"] if bundle.confirmation else "确认"


def _titles(bundle: rules.BundleDef, names: list[str]) -> list[str]:
    """Form fields as the form names them (their JSON Schema ``title``)."""
    properties = bundle.form.get("properties", {})
    return [properties.get(name, {}).get("title", name) for name in names]
