"""Housing fund use cases: accounts across cities, eligibility, a withdrawal authorised by a face
scan bound to it, its submission to the fund centre, and the centre's payout events
(docs/housing-fund.md).

Guarantees, and what makes them hold:
- **"Unreachable" is never "zero".** A centre that cannot answer is listed as unreachable; its
  accounts are not shown as empty or with a zero balance, and nothing is decided on a guess.
- **The face scan authorises one withdrawal.** ``start`` creates the withdrawal with every detail
  (kind, account, amount, card) and a face session of its own; ``submit`` takes only that session's
  verdict, read at most five minutes ago. A scan for anything else does not count.
- **Two at once cannot both pass a limit.** ``submit`` reserves the amount on two quota rows — the
  kind's period and the balance in flight — with conditional UPDATEs in the transaction that
  submits the application; the second of two concurrent submissions finds the room gone.
- **Never paid twice.** One payout id per withdrawal, given once at submission and carried to the
  centre (which dedupes by it); a payout event changes a requested payout only, so a replayed,
  late or contradicting event never changes a paid (or failed, or returned) withdrawal.
"""
from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.applications import rules as application_rules
from domain.housing_fund import instructions, matters, payouts, quotas, rules
from domain.housing_fund.accounts import CentreAccountReader, account_from_json, account_to_json
from domain.housing_fund.errors import (
    BankCardNotOwn,
    FaceBindingMissing,
    WithdrawalAlreadySubmitted,
    WithdrawalExpired,
    WithdrawalLimitExceeded,
    WithdrawalNotEligible,
    WithdrawalNotFound,
)
from domain.housing_fund.models import Withdrawal
from domain.housing_fund.ports import AccountCache, BankCards, FundCentres, PayoutSigner
from domain.housing_fund.views import (
    AccountsOverview,
    FaceChallengeView,
    PayoutOutcome,
    WithdrawalStart,
    WithdrawalView,
    withdrawal_view,
)
from domain.shared import idempotency
from domain.shared.clock import SHANGHAI, Clock
from domain.shared.errors import DomainError, IdempotencyKeyRequired, InvalidInput, UpstreamUnavailable
from domain.shared.vault import Vault

log = logging.getLogger("govhub.housing_fund")

CARD_CONTEXT = "housing_fund.card"
SCOPE = "housing_fund"  # of its Idempotency-Keys


# --- a request judged -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    """A withdrawal request judged against a fresh read of its account."""

    account: rules.Account
    eligibility: rules.Eligibility


class HousingFundService:
    def __init__(self, *, clock: Clock, vault: Vault, identity, nodes, applications, wallet,
                 centres: FundCentres, cards: BankCards, signer: PayoutSigner,
                 cache: AccountCache | None = None) -> None:
        """``identity``, ``nodes``, ``applications``: those modules' services; ``wallet``: the
        applications module's e-license wallet (which license types the citizen holds);
        ``signer``: the hub's signature on payout instructions."""
        self.clock, self.vault = clock, vault
        self.identity, self.nodes, self.applications, self.wallet = identity, nodes, applications, wallet
        self.centres, self.cards, self.signer, self.cache = centres, cards, signer, cache
        self.reader = CentreAccountReader(clock=clock, vault=vault, nodes=nodes, centres=centres, cache=cache)

    # --- accounts ---------------------------------------------------------------------------

    async def accounts(self, *, person_id: str) -> AccountsOverview:
        """Every centre's accounts of this person, asked at once; a centre that cannot answer is
        marked unreachable (never shown as "no account")."""
        who = await self.identity.reveal(person_id=person_id)
        centres = await self.reader.centres()
        # a payout settled since the cache was filled changed a balance: it starts a new generation
        generation = await Withdrawal.filter(person_id=person_id, settled_at__not_isnull=True).count()
        answers = await asyncio.gather(*(self.reader.of_centre(code, name, who, cached=True, generation=generation)
                                         for code, name in centres))
        return AccountsOverview(centres=list(answers))

    # --- eligibility ------------------------------------------------------------------------

    async def eligibility(self, *, person_id: str, kind: str, centre_code: str, account_no: str,
                          details: dict | None = None, materials: list[dict] | None = None,
                          amount_fen: int | None = None) -> rules.Eligibility:
        """Every rule of ``kind`` explained, and how much may be withdrawn now."""
        who = await self.identity.reveal(person_id=person_id)
        checked = await self._check(person_id, who, kind, centre_code, account_no, details or {},
                                    materials or [], amount_fen)
        return checked.eligibility

    async def _check(self, person_id: str, who: dict, kind: str, centre_code: str, account_no: str,
                     details: dict, materials: list[dict], amount_fen: int | None,
                     account: rules.Account | None = None) -> _Checked:
        """The rules judged on a fresh read of the account (or on ``account`` when given)."""
        if kind not in rules.KINDS:
            raise InvalidInput("不支持的提取类型", errors=[{"field": "kind", "message": "、".join(rules.KINDS)}])
        if problems := rules.figure_problems(amount_fen, details):
            raise InvalidInput("金额超出可受理的范围", errors=problems)
        account = account or await self.reader.fresh(who, centre_code, account_no)
        request = await self._request(person_id, kind, details, materials, amount_fen)
        today = self._today()
        usage = await quotas.usage(account, rules.limit_for(kind, account, request, today, rules.Usage()).period_key)
        judged = rules.evaluate(kind, account=account, applicant=rules.applicant_of(who["id_number"]),
                                request=request, today=today, usage=usage)
        return _Checked(account, judged)

    async def _request(self, person_id: str, kind: str, details: dict, materials: list[dict],
                       amount_fen: int | None) -> rules.Request:
        licenses, uploads = set(), set()
        for item in materials:
            if item.get("license_id"):
                held = await self.wallet.holds(person_id=person_id, license_id=item["license_id"])
                if held is not None:
                    licenses.add(held.license_type)
            elif item.get("upload_id") and item.get("name"):
                uploads.add(item["name"])
        return rules.Request(
            kind=kind, amount_fen=amount_fen, licenses=frozenset(licenses), uploads=frozenset(uploads),
            home_owner=details.get("home_owner", "self"), purchased_on=_date(details.get("purchased_on")),
            price_fen=details.get("price_fen"), repaid_this_year_fen=details.get("repaid_this_year_fen"),
            medical_cost_fen=details.get("medical_cost_fen"))

    # --- start: the withdrawal and its own face scan ----------------------------------------

    async def start(self, *, person_id: str, channel: str, kind: str, centre_code: str, account_no: str,
                    amount_fen: int, card_no: str, details: dict | None = None,
                    materials: list[dict] | None = None) -> WithdrawalStart:
        """Check everything that can be checked before the face scan, then create the withdrawal
        and a face session bound to it. Nothing is stored when a check fails."""
        who = await self.identity.reveal(person_id=person_id)
        details, materials = _clean_details(details or {}), list(materials or [])
        checked = await self._check(person_id, who, kind, centre_code, account_no, details, materials, amount_fen)
        if not checked.eligibility.eligible:
            raise _not_eligible(checked.eligibility)
        bank_name = await self._own_card(card_no, who)
        face = await self.identity.start_face(person_id=person_id, channel=channel)
        now = self.clock.now()
        withdrawal = await Withdrawal.create(
            public_id="w_" + secrets.token_hex(12), person_id=person_id, channel=channel, kind=kind,
            centre_code=centre_code, account_no=account_no, amount_fen=amount_fen,
            card_sealed=self.vault.seal(card_no, context=CARD_CONTEXT), card_masked=rules.mask_card(card_no),
            bank_name=bank_name,
            details={**details, "materials": materials, "account": account_to_json(checked.account)},
            checks=[c.as_dict() for c in checked.eligibility.checks], rule_clear=checked.eligibility.rule_clear,
            period_key=checked.eligibility.limit.period_key, status=rules.AWAITING_FACE, face_session_id=face.id,
            created_at=now, expires_at=now + timedelta(seconds=rules.DRAFT_TTL_SECONDS), updated_at=now)
        return WithdrawalStart(withdrawal=withdrawal_view(withdrawal),
                               face=FaceChallengeView(id=face.id, sdk_token=face.sdk_token, expires_in=face.expires_in))

    async def restart_face(self, *, person_id: str, withdrawal_id: str, channel: str) -> FaceChallengeView:
        """A new face session for a withdrawal not yet submitted (the first failed or went stale);
        it replaces the withdrawal's binding, so only the newest scan counts."""
        # real name first, as every fund use case: below L2 the answer is assurance_required
        # whatever the id names (tests/support/authorization_matrix.py)
        await self.identity.reveal(person_id=person_id)
        withdrawal = await self._own(person_id, withdrawal_id)
        if withdrawal.status != rules.AWAITING_FACE:
            raise WithdrawalAlreadySubmitted(current_status=withdrawal.status)
        if self.clock.now() > withdrawal.expires_at:
            raise WithdrawalExpired()
        face = await self.identity.start_face(person_id=person_id, channel=channel)
        await Withdrawal.filter(id=withdrawal.id, status=rules.AWAITING_FACE).update(
            face_session_id=face.id, updated_at=self.clock.now())
        return FaceChallengeView(id=face.id, sdk_token=face.sdk_token, expires_in=face.expires_in)

    async def _own_card(self, card_no: str, who: dict) -> str | None:
        if not rules.valid_card_number(card_no):
            raise InvalidInput("银行卡号有误", errors=[{"field": "bank_card_no", "message": "应为16到19位有效银行卡号"}])
        check = await self.cards.check_holder(card_no=card_no, name=who["name"], id_number=who["id_number"])
        if not check.matched:
            raise BankCardNotOwn("该银行卡不是您本人名下的银行卡，请换一张本人银行卡" if check.reason != "card_not_found"
                                 else "未查询到该银行卡，请核对卡号", reason=check.reason or "holder_mismatch")
        return check.bank_name

    # --- submit -----------------------------------------------------------------------------

    async def submit(self, *, person_id: str, withdrawal_id: str, idempotency_key: str | None) -> WithdrawalView:
        """Submit a withdrawal whose rules and bound face scan pass, once. A key used before answers
        its first result — also to a copy that was still being checked when the first committed
        (its refusal, e.g. the limit the first one just took, is not the answer)."""
        if not idempotency_key:
            raise IdempotencyKeyRequired("提交提取申请须带 Idempotency-Key 请求头（重试时不变）")
        withdrawal = await self._own(person_id, withdrawal_id)
        claim = _key_claim(withdrawal, idempotency_key)

        async def replay(_: str) -> WithdrawalView:
            return replace(await self._detail(await Withdrawal.get(id=withdrawal.id)), replayed=True)

        async def write() -> WithdrawalView:
            if withdrawal.status != rules.AWAITING_FACE:
                raise WithdrawalAlreadySubmitted(current_status=withdrawal.status)
            await self._submit_checked(withdrawal, claim)
            return await self._detail(await Withdrawal.get(id=withdrawal.id))

        try:
            # a copy that was still being checked when the first committed answers the first result
            # (its refusal, e.g. the limit the first one just took, is not the answer)
            submitted = await idempotency.once(claim, write=write, replay=replay,
                                               retry_on=(DomainError, IntegrityError))
        except WithdrawalAlreadySubmitted:
            again = await Withdrawal.get(id=withdrawal.id)
            raise WithdrawalAlreadySubmitted(current_status=again.status) from None
        if not submitted.replayed:
            log.info("withdrawal %s submitted: %s %s fen from %s", withdrawal.public_id, withdrawal.kind,
                     withdrawal.amount_fen, withdrawal.centre_code)
        return submitted

    async def _submit_checked(self, withdrawal: Withdrawal, claim: idempotency.Claim) -> None:
        """Every check again — not expired, this withdrawal's face scan, the rules on a fresh read
        of the account — then the one transaction that submits it."""
        person_id, now = withdrawal.person_id, self.clock.now()
        if now > withdrawal.expires_at:
            raise WithdrawalExpired()
        face = await self._face_bound(person_id, withdrawal, now)
        who = await self.identity.reveal(person_id=person_id)
        details = dict(withdrawal.details)
        materials, snapshot = details.pop("materials", []), details.pop("account", None)
        arguments = (person_id, who, withdrawal.kind, withdrawal.centre_code, withdrawal.account_no, details,
                     materials, withdrawal.amount_fen)
        try:
            checked = await self._check(*arguments)
        except UpstreamUnavailable:
            # The centre is down now: the request is kept and goes out when the centre is back. It
            # is judged on the account as read when the withdrawal started (minutes ago), and not
            # marked rule-clear, so the centre checks it again before paying.
            if snapshot is None:
                raise
            log.warning("withdrawal %s: centre %s unreachable, judged on the account read at start",
                        withdrawal.public_id, withdrawal.centre_code)
            checked = await self._check(*arguments, account=account_from_json(snapshot))
            checked = replace(checked, eligibility=replace(checked.eligibility, needs_review=True))
        if not checked.eligibility.eligible:  # the account changed since the face scan
            raise _not_eligible(checked.eligibility)
        await self._store_submission(withdrawal, checked, materials, claim, face=face, id_number=who["id_number"])

    async def _face_bound(self, person_id: str, withdrawal: Withdrawal, now: datetime) -> instructions.FaceBinding:
        """L3 for this withdrawal: its own face session passed, and was read, minutes ago at most.
        The binding goes into the payout instruction, which cannot be made without one."""
        outcome = None
        if withdrawal.face_session_id:
            outcome = await self.identity.face_session_outcome(person_id=person_id,
                                                               session_id=withdrawal.face_session_id)
        if outcome is None or outcome.read_at is None:
            raise FaceBindingMissing("请先完成本次提取的人脸核验", required="L3", withdrawal_id=withdrawal.public_id)
        if not outcome.passed:
            raise FaceBindingMissing("本次提取的人脸核验未通过，请重新发起", required="L3",
                                     withdrawal_id=withdrawal.public_id)
        if (now - outcome.read_at).total_seconds() > rules.FACE_FRESH_SECONDS:
            raise FaceBindingMissing("人脸核验已超过5分钟，请重新发起提取并核验", required="L3",
                                     withdrawal_id=withdrawal.public_id)
        return instructions.FaceBinding(session_id=withdrawal.face_session_id, verified_at=outcome.read_at)

    async def _store_submission(self, withdrawal: Withdrawal, checked: _Checked, materials: list[dict],
                                claim: idempotency.Claim, *, face: instructions.FaceBinding, id_number: str) -> None:
        """One transaction: claim the withdrawal, reserve its amount on both quotas, submit its
        application (a savepoint of ours: the applications module's own transaction nests), and
        note the application's number. Any refusal undoes all of it. Called only once the rules
        passed (``checked``) and the bound face scan did (``face``)."""
        now, payout_id = self.clock.now(), "po_" + secrets.token_hex(12)
        account, limit = checked.account, checked.eligibility.limit
        async with in_transaction() as conn:
            await idempotency.record(conn, claim, now, result=withdrawal.public_id)
            claimed = await Withdrawal.filter(id=withdrawal.id, status=rules.AWAITING_FACE).using_db(conn).update(
                status=rules.REQUESTED, payout_id=payout_id, submitted_at=now, updated_at=now)
            if not claimed:
                raise WithdrawalAlreadySubmitted()
            room = [(limit.period_key, limit.cap_fen), (quotas.IN_FLIGHT, account.balance_fen)]
            for period_key, cap in room:
                if not await quotas.reserve(conn, quotas.account_key(account), period_key, withdrawal.amount_fen, cap, now):
                    raise WithdrawalLimitExceeded(
                        "另一笔提取刚刚占用了本期额度，本次提取超过可提取额度" if period_key != quotas.IN_FLIGHT
                        else "办理中的提取已占用账户余额，本次提取超过可提取余额", limit_fen=cap)
            result = await self.applications.submit(
                person_id=withdrawal.person_id, channel=withdrawal.channel,
                matter_code=matters.matter_code(_centre_region(withdrawal.centre_code), withdrawal.kind),
                form=self._form(withdrawal, checked, payout_id, face=face, id_number=id_number),
                materials=materials, idempotency_key=f"fund:{withdrawal.public_id}",
                entry=application_rules.HOUSING_FUND)
            await Withdrawal.filter(id=withdrawal.id).using_db(conn).update(
                application_number=result.application.number, rule_clear=checked.eligibility.rule_clear)

    def _form(self, withdrawal: Withdrawal, checked: _Checked, payout_id: str, *,
              face: instructions.FaceBinding, id_number: str) -> dict:
        """What the centre receives: the withdrawal, the rules as judged, and the one payout
        instruction — a statement signed by the hub (its id is what the centre dedupes payments by;
        its holder reference is what the centre matches against its own record of the account)."""
        claims = instructions.payout_claims(
            payout_id=payout_id, withdrawal_id=withdrawal.public_id, centre_code=withdrawal.centre_code,
            account_no=withdrawal.account_no, holder_ref=instructions.holder_reference(id_number, payout_id),
            amount_fen=withdrawal.amount_fen, card_no=self.vault.open(withdrawal.card_sealed, context=CARD_CONTEXT),
            bank_name=withdrawal.bank_name, face=face, issued_at=self.clock.now(),
            callback=f"/gov/v1/housing-fund/payouts/{payout_id}/events")
        return {
            "withdrawal_id": withdrawal.public_id, "kind": withdrawal.kind, "account_no": withdrawal.account_no,
            "amount_fen": withdrawal.amount_fen, "rule_clear": checked.eligibility.rule_clear,
            "checks": [c.as_dict() for c in checked.eligibility.checks],
            "details": {k: v for k, v in withdrawal.details.items() if k not in ("materials", "account")},
            "payout": self.signer.sign(instructions.PAYOUT_STATEMENT, claims),
        }

    # --- reading ----------------------------------------------------------------------------

    async def list_own(self, *, person_id: str, limit: int = 20) -> list[WithdrawalView]:
        rows = await Withdrawal.filter(person_id=person_id).order_by("-id").limit(max(1, min(limit, 50)))
        return [withdrawal_view(w) for w in rows]

    async def detail(self, *, person_id: str, withdrawal_id: str) -> WithdrawalView:
        return await self._detail(await self._own(person_id, withdrawal_id))

    async def _own(self, person_id: str, withdrawal_id: str) -> Withdrawal:
        found = None
        if isinstance(withdrawal_id, str):
            found = await Withdrawal.get_or_none(public_id=withdrawal_id, person_id=person_id)
        if found is None:  # another person's withdrawal looks exactly like one that does not exist
            raise WithdrawalNotFound(f"未找到提取申请 {withdrawal_id}")
        return found

    async def _detail(self, withdrawal: Withdrawal) -> WithdrawalView:
        status = None
        if withdrawal.application_number:
            status = (await self.applications.detail(person_id=withdrawal.person_id,
                                                      number=withdrawal.application_number)).status
        return replace(withdrawal_view(withdrawal), application_status=status)

    # --- the centre's payout events (callbacks) ---------------------------------------------

    # --- the centre's payout events (callbacks): payouts.py ---------------------------------

    async def apply_payout_event(self, *, node_code: str, payout_id: str, event_id: str, type: str,
                                 occurred_at: datetime, reason: str | None = None,
                                 bank_reference: str | None = None) -> PayoutOutcome:
        """A centre's word on a payout it carries out (POST /gov/v1/housing-fund/payouts/{id}/events)."""
        return await payouts.apply_event(self.clock, node_code=node_code, payout_id=payout_id, event_id=event_id,
                                         type=type, occurred_at=occurred_at, reason=reason,
                                         bank_reference=bank_reference)

    def _today(self) -> date:
        return self.clock.now().astimezone(SHANGHAI).date()


# --- module helpers ---------------------------------------------------------------------------


def _not_eligible(eligibility: rules.Eligibility) -> WithdrawalNotEligible:
    failed = [c for c in eligibility.checks if not c.passed]
    return WithdrawalNotEligible("；".join(c.message for c in failed),
                                 checks=[c.as_dict() for c in eligibility.checks],
                                 errors=[{"field": c.rule, "message": c.message} for c in failed])


def _key_claim(withdrawal: Withdrawal, key: str) -> idempotency.Claim:
    """A submission's key: the request is the withdrawal it submits (all else was fixed at start)."""
    return idempotency.Claim(scope=SCOPE, person_id=withdrawal.person_id, key=key,
                             request_hash=idempotency.fingerprint({"withdrawal_id": withdrawal.public_id}))


def _centre_region(centre_code: str) -> str:
    return centre_code.split("-")[0].ljust(12, "0")


DETAIL_FIELDS = {"home_owner": str, "purchased_on": str, "price_fen": int, "repaid_this_year_fen": int,
                 "medical_cost_fen": int}


def _clean_details(details: dict) -> dict:
    """Only the facts the rules read, of the right type (the route validated them already)."""
    return {k: v for k, v in details.items() if k in DETAIL_FIELDS and isinstance(v, DETAIL_FIELDS[k])}


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        raise InvalidInput("日期格式有误", errors=[{"field": "details.purchased_on", "message": "应为 YYYY-MM-DD"}]) from None
