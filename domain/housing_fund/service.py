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
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from domain.applications import rules as application_rules
from domain.applications.errors import IdempotencyKeyRequired, IdempotencyKeyReused
from domain.housing_fund import instructions, matters, rules
from domain.housing_fund.errors import (
    BankCardNotOwn,
    FaceBindingMissing,
    FundAccountNotFound,
    PayoutEventIdReused,
    PayoutNotFound,
    WithdrawalAlreadySubmitted,
    WithdrawalExpired,
    WithdrawalLimitExceeded,
    WithdrawalNotEligible,
    WithdrawalNotFound,
)
from domain.housing_fund.models import PayoutEvent, Quota, Withdrawal
from domain.housing_fund.ports import AccountCache, BankCards, FundCentres, PayoutSigner
from domain.shared.clock import SHANGHAI, Clock
from domain.shared.errors import DomainError, InvalidInput, UpstreamUnavailable
from domain.shared.rows import placeholders
from domain.shared.vault import Vault

log = logging.getLogger("govhub.housing_fund")

CARD_CONTEXT = "housing_fund.card"
ID_HASH_CONTEXT = "housing_fund.person"
ACCOUNTS_TTL_SECONDS = 30  # a short cache: the centre stays the source of truth
IN_FLIGHT = "in_flight"  # the quota row of the balance that requested payouts hold
UNREACHABLE_MESSAGE = "该公积金中心暂时无法连接，账户信息以中心为准，请稍后再试"


# --- what the use cases return ----------------------------------------------------------------


@dataclass(frozen=True)
class CentreAccounts:
    centre_code: str
    centre_name: str
    reachable: bool
    accounts: list[rules.Account]
    as_of: datetime | None  # when the centre answered (a cached answer is at most 30 s old)


@dataclass(frozen=True)
class AccountsOverview:
    centres: list[CentreAccounts]

    @property
    def accounts(self) -> list[rules.Account]:
        return [a for c in self.centres for a in c.accounts]

    @property
    def unreachable(self) -> list[CentreAccounts]:
        return [c for c in self.centres if not c.reachable]


@dataclass(frozen=True)
class FaceChallengeView:
    id: str
    sdk_token: str
    expires_in: int


@dataclass(frozen=True)
class WithdrawalView:
    id: str
    kind: str
    centre_code: str
    account_no: str
    amount_fen: int
    card_masked: str
    bank_name: str | None
    status: str
    rule_clear: bool
    checks: list[dict]
    payout_id: str | None
    application_number: str | None
    payout_reason: str | None
    created_at: datetime
    expires_at: datetime
    submitted_at: datetime | None
    settled_at: datetime | None
    application_status: str | None = None  # detail only: the application's own status
    replayed: bool = False  # submit: the same Idempotency-Key came before; this is the first result

    @property
    def status_name(self) -> str:
        return rules.STATUS_NAMES[self.status]

    @property
    def kind_name(self) -> str:
        return rules.KIND_NAMES[self.kind]


@dataclass(frozen=True)
class WithdrawalStart:
    withdrawal: WithdrawalView
    face: FaceChallengeView


@dataclass(frozen=True)
class PayoutOutcome:
    payout_id: str
    event_id: str
    status: str
    applied: bool
    outcome: str  # applied | stale
    replayed: bool = False


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

    # --- accounts ---------------------------------------------------------------------------

    async def accounts(self, *, person_id: str) -> AccountsOverview:
        """Every centre's accounts of this person, asked at once; a centre that cannot answer is
        marked unreachable (never shown as "no account")."""
        who = await self.identity.reveal(person_id=person_id)
        centres = await self._centres()
        # a payout settled since the cache was filled changed a balance: it starts a new generation
        generation = await Withdrawal.filter(person_id=person_id, settled_at__not_isnull=True).count()
        answers = await asyncio.gather(*(self._centre_accounts(code, name, who, cached=True, generation=generation)
                                         for code, name in centres))
        return AccountsOverview(centres=list(answers))

    async def _centres(self) -> list[tuple[str, str]]:
        return [(n.code, n.name) for n in await self.nodes.list()
                if rules.is_centre(n.code) and n.status == "active"]

    async def _centre_accounts(self, code: str, name: str, who: dict, *, cached: bool,
                               generation: int = 0) -> CentreAccounts:
        person = self.vault.lookup_hash(who["id_number"], context=ID_HASH_CONTEXT)[:32]
        key = f"accounts:{code}:{person}:{generation}"
        if cached and self.cache is not None and (hit := await self.cache.get_json(key)) is not None:
            return CentreAccounts(code, name, True, [_account_from_json(a) for a in hit["accounts"]],
                                  datetime.fromisoformat(hit["as_of"]))
        try:
            found = await self.centres.accounts(centre_code=code, id_number=who["id_number"], name=who["name"])
        except UpstreamUnavailable as error:
            log.warning("fund centre %s unreachable: %s", code, error.detail)
            return CentreAccounts(code, name, False, [], None)
        now = self.clock.now()
        if self.cache is not None:
            await self.cache.set_json(key, {"accounts": [_account_to_json(a) for a in found],
                                            "as_of": now.isoformat()}, ttl_seconds=ACCOUNTS_TTL_SECONDS)
        return CentreAccounts(code, name, True, found, now)

    async def _account(self, who: dict, centre_code: str, account_no: str) -> rules.Account:
        """A fresh read of one account (no cache): decisions about money use the centre's answer."""
        name = dict(await self._centres()).get(centre_code)
        if name is None:
            raise FundAccountNotFound(f"未找到公积金中心 {centre_code}")
        answer = await self._centre_accounts(centre_code, name, who, cached=False)
        if not answer.reachable:
            raise UpstreamUnavailable(UNREACHABLE_MESSAGE, system=centre_code)
        for account in answer.accounts:
            if account.account_no == account_no:
                return account
        raise FundAccountNotFound(f"在{name}未找到账号 {account_no}")

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
        account = account or await self._account(who, centre_code, account_no)
        request = await self._request(person_id, kind, details, materials, amount_fen)
        today = self._today()
        usage = await self._usage(account, rules.limit_for(kind, account, request, today, rules.Usage()).period_key)
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

    async def _usage(self, account: rules.Account, period_key: str) -> rules.Usage:
        rows = dict(await Quota.filter(account_key=_account_key(account), period_key__in=[period_key, IN_FLIGHT])
                    .values_list("period_key", "used_fen"))
        return rules.Usage(period_used_fen=rows.get(period_key, 0), in_flight_fen=rows.get(IN_FLIGHT, 0))

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
            details={**details, "materials": materials, "account": _account_to_json(checked.account)},
            checks=[c.as_dict() for c in checked.eligibility.checks], rule_clear=checked.eligibility.rule_clear,
            period_key=checked.eligibility.limit.period_key, status=rules.AWAITING_FACE, face_session_id=face.id,
            created_at=now, expires_at=now + timedelta(seconds=rules.DRAFT_TTL_SECONDS), updated_at=now)
        return WithdrawalStart(withdrawal=_view(withdrawal),
                               face=FaceChallengeView(id=face.id, sdk_token=face.sdk_token, expires_in=face.expires_in))

    async def restart_face(self, *, person_id: str, withdrawal_id: str, channel: str) -> FaceChallengeView:
        """A new face session for a withdrawal not yet submitted (the first failed or went stale);
        it replaces the withdrawal's binding, so only the newest scan counts."""
        # real name first, as every fund use case: below L2 the answer is assurance_required
        # whatever the id names (tests/api/test_authorization_matrix.py)
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
        if (first := await self._first_result(withdrawal, idempotency_key)) is not None:
            return first
        if withdrawal.status != rules.AWAITING_FACE:
            raise WithdrawalAlreadySubmitted(current_status=withdrawal.status)
        try:
            await self._submit_checked(withdrawal, idempotency_key)
        except (DomainError, IntegrityError) as refused:
            again = await Withdrawal.get(id=withdrawal.id)
            if (first := await self._first_result(again, idempotency_key)) is not None:
                return first  # a concurrent copy with this key committed first: its result
            if isinstance(refused, WithdrawalAlreadySubmitted) and again.status != rules.AWAITING_FACE:
                raise WithdrawalAlreadySubmitted(current_status=again.status) from None
            raise
        log.info("withdrawal %s submitted: %s %s fen from %s", withdrawal.public_id, withdrawal.kind,
                 withdrawal.amount_fen, withdrawal.centre_code)
        return await self._detail(await Withdrawal.get(id=withdrawal.id))

    async def _submit_checked(self, withdrawal: Withdrawal, key: str) -> None:
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
            checked = await self._check(*arguments, account=_account_from_json(snapshot))
            checked = replace(checked, eligibility=replace(checked.eligibility, needs_review=True))
        if not checked.eligibility.eligible:  # the account changed since the face scan
            raise _not_eligible(checked.eligibility)
        await self._store_submission(withdrawal, checked, materials, key, face=face, id_number=who["id_number"])

    async def _first_result(self, withdrawal: Withdrawal, key: str) -> WithdrawalView | None:
        """The first result of a submission under ``key``, if that key was used: this withdrawal's
        (a replay), or a refusal if it submitted another one. None if the key is new.

        The key's holder is read afresh, never judged from ``withdrawal`` alone: a copy that read
        the withdrawal just before a concurrent copy committed finds its own withdrawal there, and
        that is a replay, not a reuse (it was a 409 now and then, issue #12 item 7)."""
        holder = withdrawal if withdrawal.submit_key == key else await Withdrawal.get_or_none(
            person_id=withdrawal.person_id, submit_key=key)
        if holder is None:
            return None
        if holder.id != withdrawal.id:
            raise IdempotencyKeyReused("同一 Idempotency-Key 只能用于同一提取申请")
        return replace(await self._detail(holder), replayed=True)

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
                                key: str, *, face: instructions.FaceBinding, id_number: str) -> None:
        """One transaction: claim the withdrawal, reserve its amount on both quotas, submit its
        application (a savepoint of ours: the applications module's own transaction nests), and
        note the application's number. Any refusal undoes all of it. Called only once the rules
        passed (``checked``) and the bound face scan did (``face``)."""
        now, payout_id = self.clock.now(), "po_" + secrets.token_hex(12)
        account, limit = checked.account, checked.eligibility.limit
        async with in_transaction() as conn:
            claimed = await Withdrawal.filter(id=withdrawal.id, status=rules.AWAITING_FACE, submit_key=None).using_db(
                conn).update(status=rules.REQUESTED, submit_key=key, payout_id=payout_id, submitted_at=now,
                             updated_at=now)
            if not claimed:
                raise WithdrawalAlreadySubmitted()
            room = [(limit.period_key, limit.cap_fen), (IN_FLIGHT, account.balance_fen)]
            for period_key, cap in room:
                if not await _reserve(conn, _account_key(account), period_key, withdrawal.amount_fen, cap, now):
                    raise WithdrawalLimitExceeded(
                        "另一笔提取刚刚占用了本期额度，本次提取超过可提取额度" if period_key != IN_FLIGHT
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
        return [_view(w) for w in rows]

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
        return replace(_view(withdrawal), application_status=status)

    # --- the centre's payout events (callbacks) ---------------------------------------------

    async def apply_payout_event(self, *, node_code: str, payout_id: str, event_id: str, type: str,
                                 occurred_at: datetime, reason: str | None = None,
                                 bank_reference: str | None = None) -> PayoutOutcome:
        """A centre's word on a payout it carries out (POST /gov/v1/housing-fund/payouts/{id}/events)."""
        body_hash = application_rules.fingerprint({"payout_id": payout_id, "type": type,
                                                   "occurred_at": occurred_at.isoformat(), "reason": reason,
                                                   "bank_reference": bank_reference})
        withdrawal = await Withdrawal.get_or_none(payout_id=payout_id) if isinstance(payout_id, str) else None
        if withdrawal is None or withdrawal.centre_code != node_code:  # only the paying centre
            raise PayoutNotFound(f"未找到由本节点支付的支付指令 {payout_id}")
        if (first := await _first_answer(node_code, event_id, body_hash)) is not None:
            return first
        try:
            async with in_transaction() as conn:
                locked = await Withdrawal.select_for_update().using_db(conn).get(id=withdrawal.id)
                verdict = rules.payout_verdict(locked.status, type)
                if verdict == rules.APPLY:
                    await self._settle(conn, locked, type, reason, bank_reference)
                answer = {"payout_id": payout_id, "event_id": event_id, "status": locked.status,
                          "applied": verdict == rules.APPLY, "outcome": verdict}
                await PayoutEvent.create(withdrawal_id=locked.id, node_code=node_code, event_id=event_id, type=type,
                                         occurred_at=occurred_at, reason=reason, bank_reference=bank_reference,
                                         body_hash=body_hash, outcome=verdict, answer=answer,
                                         received_at=self.clock.now(), using_db=conn)
        except IntegrityError:  # the same event raced in from another request: answer the first
            if (first := await _first_answer(node_code, event_id, body_hash)) is not None:
                return first
            raise
        if verdict != rules.APPLY:
            log.info("payout %s: %s event %s recorded, not applied (already %s)", payout_id, type, event_id,
                     locked.status)
        return PayoutOutcome(**answer)

    async def _settle(self, conn, withdrawal: Withdrawal, outcome: str, reason: str | None,
                      bank_reference: str | None) -> None:
        """requested -> paid | failed | returned, once (conditional on the status), giving back
        what the outcome releases of the quotas."""
        now = self.clock.now()
        moved = await Withdrawal.filter(id=withdrawal.id, status=rules.REQUESTED).using_db(conn).update(
            status=outcome, settled_at=now, updated_at=now, payout_reason=reason, bank_reference=bank_reference)
        if not moved:
            return
        period, in_flight = rules.releases(outcome)
        key = f"{withdrawal.centre_code}:{withdrawal.account_no}"
        for release, period_key in ((period, withdrawal.period_key), (in_flight, IN_FLIGHT)):
            if release:
                await Quota.filter(account_key=key, period_key=period_key).using_db(conn).update(
                    used_fen=F("used_fen") - withdrawal.amount_fen, updated_at=now)
        withdrawal.status = outcome

    def _today(self) -> date:
        return self.clock.now().astimezone(SHANGHAI).date()


# --- module helpers ---------------------------------------------------------------------------


async def _reserve(conn, account_key: str, period_key: str, amount: int, cap: int, now: datetime) -> bool:
    """Take ``amount`` of the quota row if it stays within ``cap``: one conditional UPDATE, which
    PostgreSQL re-checks against the committed row when a concurrent transaction changed it and
    SQLite runs with the database's single writer. True if taken."""
    a, b, c = placeholders(conn, 3)
    await conn.execute_query(
        f"INSERT INTO fund_quotas (account_key, period_key, used_fen, updated_at) VALUES ({a}, {b}, 0, {c}) "
        "ON CONFLICT (account_key, period_key) DO NOTHING", [account_key, period_key, now])
    taken = await Quota.filter(account_key=account_key, period_key=period_key,
                               used_fen__lte=cap - amount).using_db(conn).update(
        used_fen=F("used_fen") + amount, updated_at=now)
    return bool(taken)


async def _first_answer(node_code: str, event_id: str, body_hash: str) -> PayoutOutcome | None:
    event = await PayoutEvent.get_or_none(node_code=node_code, event_id=event_id)
    if event is None:
        return None
    if event.body_hash != body_hash:
        raise PayoutEventIdReused(f"事件编号 {event_id} 已用于另一事件")
    return PayoutOutcome(**event.answer, replayed=True)


def _not_eligible(eligibility: rules.Eligibility) -> WithdrawalNotEligible:
    failed = [c for c in eligibility.checks if not c.passed]
    return WithdrawalNotEligible("；".join(c.message for c in failed),
                                 checks=[c.as_dict() for c in eligibility.checks],
                                 errors=[{"field": c.rule, "message": c.message} for c in failed])


def _account_key(account: rules.Account) -> str:
    return f"{account.centre_code}:{account.account_no}"


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


def _view(w: Withdrawal) -> WithdrawalView:
    return WithdrawalView(
        id=w.public_id, kind=w.kind, centre_code=w.centre_code, account_no=w.account_no, amount_fen=w.amount_fen,
        card_masked=w.card_masked, bank_name=w.bank_name, status=w.status, rule_clear=w.rule_clear,
        checks=list(w.checks), payout_id=w.payout_id, application_number=w.application_number,
        payout_reason=w.payout_reason, created_at=w.created_at, expires_at=w.expires_at,
        submitted_at=w.submitted_at, settled_at=w.settled_at)


def _account_to_json(account: rules.Account) -> dict:
    data = asdict(account)
    data["opened_on"] = account.opened_on.isoformat()
    data["sealed_on"] = account.sealed_on.isoformat() if account.sealed_on else None
    return data


def _account_from_json(data: dict) -> rules.Account:
    return rules.Account(**{**data, "opened_on": date.fromisoformat(data["opened_on"]),
                            "sealed_on": date.fromisoformat(data["sealed_on"]) if data["sealed_on"] else None,
                            "history": tuple(rules.DepositMonth(**m) for m in data["history"])})
