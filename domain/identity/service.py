"""Identity use cases: log in from a channel, verify real name and face, read oneself.

A login on any channel finds or creates the channel account and its person, and returns tokens.
Two people become one when both pass real-name verification with the same ID number.
"""
from __future__ import annotations

import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.identity import matching, people, rules
from domain.identity.errors import (
    AssuranceRequired,
    FaceResultConsumed,
    FaceSessionNotFound,
    RealNameAlreadyBound,
    RealNameMismatch,
    SmsCodeInvalid,
    SmsCodeLocked,
    SmsSendLimited,
    TokenInvalid,
)
from domain.identity.matching import IdentityMatch
from domain.identity.models import ChannelAccount, FaceSession, Person, SmsChallenge
from domain.identity.people import ID_NUMBER, NAME, PHONE, SESSION_KEY, PersonView
from domain.identity.ports import AlipayLogin, FaceVerifier, RealNameVerifier, SmsSender, WeChatLogin
from domain.identity.tokens import IssuedSession, TokenService
from domain.shared.clock import Clock
from domain.shared.errors import InvalidInput
from domain.shared.values import IdNumber, Phone
from domain.shared.vault import Vault


@dataclass(frozen=True)
class LoginResult:
    person: PersonView
    session: IssuedSession
    created: bool  # a new person was created by this login


@dataclass(frozen=True)
class RealNameResult:
    person: PersonView
    session: IssuedSession | None  # new tokens when the login now belongs to another (merged) person


@dataclass(frozen=True)
class FaceStart:
    id: str
    sdk_token: str
    expires_in: int


@dataclass(frozen=True)
class FaceResult:
    passed: bool
    reason: str
    person: PersonView
    session: IssuedSession | None  # an L3 session when the face scan passed


# housing fund: a face session's outcome
@dataclass(frozen=True)
class FaceSessionOutcome:
    passed: bool  # False until read, and when the scan failed
    read_at: datetime | None  # when the verdict was read (the moment of verification)
    created_at: datetime


@dataclass(frozen=True)
class PeopleCounts:
    registered: int
    real_name: int


class IdentityService:
    def __init__(self, *, vault: Vault, clock: Clock, tokens: TokenService, wechat: WeChatLogin,
                 alipay: AlipayLogin, sms: SmsSender, realname: RealNameVerifier, face: FaceVerifier) -> None:
        self.vault, self.clock, self.tokens = vault, clock, tokens
        self.wechat, self.alipay, self.sms = wechat, alipay, sms
        self.realname, self.face = realname, face

    # --- channel logins ---------------------------------------------------------------------

    async def login_wechat(self, *, code: str) -> LoginResult:
        session = await self.wechat.code_to_session(code)
        sealed_key = self.vault.seal(session.session_key, context=SESSION_KEY)
        return await self._login("wechat", session.openid, unionid=session.unionid, session_key_sealed=sealed_key)

    async def login_alipay(self, *, auth_code: str) -> LoginResult:
        grant = await self.alipay.exchange_auth_code(auth_code)
        return await self._login("alipay", grant.user_id)

    async def send_sms_code(self, *, phone: str) -> dict:
        number = Phone.parse(phone)
        phone_hash = self._phone_hash(number.value)
        now = self.clock.now()
        async with in_transaction():
            last = await SmsChallenge.filter(phone_hash=phone_hash).order_by("-created_at").first()
            today = await SmsChallenge.filter(phone_hash=phone_hash, created_at__gte=rules.start_of_day(now)).count()
            decision = rules.decide_sms_send(last_sent_at=last.created_at if last else None, sent_today=today, now=now)
            if not decision.allowed:
                raise SmsSendLimited("验证码发送过于频繁" if decision.reason == "interval" else "今日验证码次数已用完",
                                     retry_after=decision.retry_after)
            code = f"{secrets.randbelow(1_000_000):06d}"
            await SmsChallenge.create(phone_hash=phone_hash, code_hash=self._code_hash(phone_hash, code),
                                      created_at=now, expires_at=now + rules.SMS_CODE_TTL)
            # Sent inside the transaction: if the gateway fails, no challenge is left that the
            # citizen never received, and the send does not count against their limits.
            await self.sms.send_login_code(number.value, code)
        return {"expires_in": int(rules.SMS_CODE_TTL.total_seconds()),
                "resend_after": int(rules.SMS_MIN_INTERVAL.total_seconds()), "phone_masked": number.masked}

    async def login_app(self, *, phone: str, code: str, device_id: str | None = None) -> LoginResult:
        number = Phone.parse(phone)
        if not (isinstance(code, str) and len(code) == 6 and code.isdigit()):
            raise SmsCodeInvalid("验证码应为6位数字")
        if not device_id:  # the app binds its refresh token to the device: ask before the code is spent
            raise InvalidInput("缺少设备标识（X-Device-Id）", errors=[{"field": "X-Device-Id", "message": "必填项"}])
        phone_hash = self._phone_hash(number.value)
        await self._consume_sms_code(phone_hash, code)
        return await self._login("app", phone_hash, phone=number.value, device_id=device_id)

    async def _consume_sms_code(self, phone_hash: str, code: str) -> None:
        now = self.clock.now()
        challenge = await SmsChallenge.filter(phone_hash=phone_hash, consumed_at=None).order_by("-created_at").first()
        if challenge is None:
            raise SmsCodeInvalid("请先获取验证码")
        matches = hmac.compare_digest(challenge.code_hash, self._code_hash(phone_hash, code))
        check = rules.check_sms_attempt(attempts=challenge.attempts, expires_at=challenge.expires_at, now=now,
                                        matches=matches)
        if check.accepted:
            # compare-and-set: of two concurrent logins with the same code only one wins
            if await SmsChallenge.filter(id=challenge.id, consumed_at=None).update(consumed_at=now):
                return
            raise SmsCodeInvalid("验证码已使用")
        if now <= challenge.expires_at and challenge.attempts < rules.SMS_MAX_ATTEMPTS:
            await SmsChallenge.filter(id=challenge.id, attempts=challenge.attempts).update(attempts=challenge.attempts + 1)
        if check.locked:
            raise SmsCodeLocked("验证码错误次数过多，请重新获取")
        if now > challenge.expires_at:
            raise SmsCodeInvalid("验证码已过期，请重新获取")
        raise SmsCodeInvalid(f"验证码错误，还可尝试{check.attempts_left}次", attempts_left=check.attempts_left)

    async def _login(self, channel: str, subject: str, *, unionid: str | None = None,
                     session_key_sealed: str | None = None, phone: str | None = None,
                     device_id: str | None = None) -> LoginResult:
        now = self.clock.now()
        created = False
        async with in_transaction():
            account, person = await people.account_owner(channel, subject)
            if account is None:
                person = await self._person_for_new_account(unionid)
                created = person is None
                if person is None:
                    # registered now by the hub's clock (Tortoise's own would be the wall's): the figures
                    # count registrations by it
                    person = await Person.create(public_id=people.new_public_id(), assurance=rules.L1_CHANNEL,
                                                 created_at=now)
                account = await ChannelAccount.create(person_id=person.id, channel=channel, subject=subject,
                                                      unionid=unionid)
            account.last_login_at = now
            account.session_key_sealed = session_key_sealed or account.session_key_sealed
            await account.save(update_fields=["last_login_at", "session_key_sealed"])
            if phone and not person.phone_sealed:
                await self._set_phone(person, phone)
        return LoginResult(person=await people.view(person, self.vault, now),
                           session=await self._issue(person, channel, device_id=device_id), created=created)

    async def _person_for_new_account(self, unionid: str | None) -> Person | None:
        """A WeChat unionid already known from another app of the same WeChat open platform."""
        if not unionid:
            return None
        other = await ChannelAccount.filter(unionid=unionid).first()
        return await people.survivor(await Person.get(id=other.person_id)) if other else None

    async def refresh(self, *, refresh_token: str, channel: str, device_id: str | None = None) -> LoginResult:
        issued = await self.tokens.refresh(refresh_token=refresh_token, channel=channel, device_id=device_id)
        return LoginResult(person=await self.me(person_id=issued.subject), session=issued, created=False)

    # --- who am I ---------------------------------------------------------------------------

    async def me(self, *, person_id: str) -> PersonView:
        return await people.view(await people.resolve(person_id), self.vault, self.clock.now())

    async def applicants(self, *, person_ids: Sequence[str]) -> dict[str, people.Applicant]:
        """``me`` as submissions need it — assurance and masked name — for many people in one read
        (a batch of submissions), by the id asked for, following merges; unknown ids are left out."""
        return await people.applicants(person_ids, self.vault, self.clock.now())

    async def people_counts(self, *, until: datetime, since: datetime | None = None) -> PeopleCounts:
        """People registered before ``until`` and how many of them were real-name verified by then,
        as things stood at ``until``: a record merged into another by then is not a second person
        (a merged record is inert: verified, if ever, before its merge). The platform's figures
        (domain/figures). With ``since``: the change over [since, until) alone, read over the
        three times' indexes — what the figures add to a level they kept rather than count
        everybody again."""
        def within(column: str) -> dict[str, datetime]:
            return {f"{column}__lt": until, **({f"{column}__gte": since} if since is not None else {})}

        merged = Person.filter(**within("merged_at"))
        registered = await Person.filter(**within("created_at")).count() - await merged.count()
        verified = await Person.filter(**within("real_name_verified_at")).count()
        return PeopleCounts(registered=registered,
                            real_name=verified - await merged.filter(real_name_verified_at__isnull=False).count())

    # --- how a person is reached (notifications' Recipients port) ----------------------------

    async def channel_account(self, person_id: str, channel: str) -> str | None:
        """The person's subject on ``channel`` (WeChat openid, Alipay user_id) they last logged in
        with, following merged records; None if they have none or are unknown."""
        try:
            person = await people.resolve(person_id)
        except TokenInvalid:
            return None
        account = await ChannelAccount.filter(person_id=person.id, channel=channel).order_by("-last_login_at").first()
        return account.subject if account else None

    async def contact_phone(self, person_id: str) -> str | None:
        """The person's phone number in clear (to send them an SMS), or None."""
        try:
            person = await people.resolve(person_id)
        except TokenInvalid:
            return None
        return self.vault.open(person.phone_sealed, context=PHONE) if person.phone_sealed else None

    async def reveal(self, *, person_id: str) -> dict:
        """The clear name and ID number, for the citizen themself (the route demands L3)."""
        person = await people.resolve(person_id)
        if person.id_number_sealed is None:
            raise AssuranceRequired("尚未实名认证", required="L2", current="L1")
        return {"name": self.vault.open(person.name_sealed, context=NAME),
                "id_number": self.vault.open(person.id_number_sealed, context=ID_NUMBER)}

    async def bind_wechat_phone(self, *, person_id: str, code: str) -> PersonView:
        phone = Phone.parse(await self.wechat.phone_number(code))
        person = await people.resolve(person_id)
        await self._set_phone(person, phone.value)
        return await people.view(person, self.vault, self.clock.now())

    async def _set_phone(self, person: Person, phone: str) -> None:
        person.phone_sealed = self.vault.seal(phone, context=PHONE)
        person.phone_hash = self._phone_hash(phone)
        await person.save(update_fields=["phone_sealed", "phone_hash", "updated_at"])

    # --- real name (L2) ---------------------------------------------------------------------

    async def verify_real_name(self, *, person_id: str, channel: str, name: str, id_number: str,
                               family_id: str | None = None, device_id: str | None = None) -> RealNameResult:
        number = IdNumber.parse(id_number)
        if not rules.valid_name(name):
            raise InvalidInput("姓名格式有误", errors=[{"field": "name", "message": "应为2到30个汉字或拉丁字母"}])
        name = name.strip()
        id_hash = self.vault.lookup_hash(number.value, context=ID_NUMBER)
        person = await people.resolve(person_id)
        if person.id_number_hash is not None:
            if person.id_number_hash != id_hash:
                raise RealNameAlreadyBound("该账号已绑定其他身份证号码")
            return RealNameResult(person=await people.view(person, self.vault, self.clock.now()), session=None)
        check = await self.realname.verify(name=name, id_number=number.value)
        if not check.matched:
            raise RealNameMismatch(_MISMATCH.get(check.reason, "姓名与身份证号码不一致"), reason=check.reason or "mismatch")
        try:
            owner = await self._bind_real_name(person, name, number, id_hash)
        except IntegrityError:  # another channel of the same citizen verified at the same moment
            owner = await self._bind_real_name(person, name, number, id_hash)
        now = self.clock.now()
        session = None
        if owner.id != person.id:
            if family_id:
                await self.tokens.revoke(family_id=family_id)
            session = await self._issue(owner, channel, device_id=device_id)
        return RealNameResult(person=await people.view(owner, self.vault, now), session=session)

    async def _bind_real_name(self, person: Person, name: str, number: IdNumber, id_hash: str) -> Person:
        now = self.clock.now()
        async with in_transaction():
            known = await Person.get_or_none(id_number_hash=id_hash)
            if known is not None and known.id != person.id:
                known = await people.survivor(known)
                await people.merge_into(absorbed=person, survivor_person=known, at=now)
                if person.phone_sealed and not known.phone_sealed:
                    known.phone_sealed, known.phone_hash = person.phone_sealed, person.phone_hash
                    await known.save(update_fields=["phone_sealed", "phone_hash", "updated_at"])
                return known
            person.name_sealed = self.vault.seal(name, context=NAME)
            person.id_number_sealed = self.vault.seal(number.value, context=ID_NUMBER)
            person.id_number_hash = id_hash
            person.id_number_masked = number.masked
            person.assurance = max(person.assurance, rules.L2_REAL_NAME)
            person.real_name_verified_at = now
            await person.save()
            return person

    # --- face (L3) --------------------------------------------------------------------------

    async def start_face(self, *, person_id: str, channel: str) -> FaceStart:
        person = await people.resolve(person_id)
        if person.id_number_sealed is None:
            raise AssuranceRequired("请先完成实名认证再进行人脸核验", required="L2", current="L1")
        challenge = await self.face.start(name=self.vault.open(person.name_sealed, context=NAME),
                                          id_number=self.vault.open(person.id_number_sealed, context=ID_NUMBER),
                                          channel=channel)
        now = self.clock.now()
        ttl = min(challenge.expires_in, int(rules.FACE_SESSION_TTL.total_seconds()))
        face = await FaceSession.create(id="f_" + secrets.token_hex(12), person_id=person.id, channel=channel,
                                        provider_session=challenge.provider_session, created_at=now,
                                        expires_at=now + timedelta(seconds=ttl))
        return FaceStart(id=face.id, sdk_token=challenge.sdk_token, expires_in=ttl)

    async def face_result(self, *, person_id: str, session_id: str, channel: str,
                          device_id: str | None = None) -> FaceResult:
        person = await people.resolve(person_id)
        now = self.clock.now()
        face = await FaceSession.get_or_none(id=session_id, person_id=person.id)
        if face is None or now > face.expires_at:
            raise FaceSessionNotFound()
        # read once: claim the session before asking the provider, so two reads cannot both pass
        if face.read_at is not None or not await FaceSession.filter(id=face.id, read_at=None).update(read_at=now):
            raise FaceResultConsumed()
        outcome = await self.face.result(face.provider_session)
        await FaceSession.filter(id=face.id).update(passed=outcome.passed)
        session = None
        if outcome.passed:
            person.face_verified_at = now
            await person.save(update_fields=["face_verified_at", "updated_at"])
            session = await self._issue(person, channel, device_id=device_id)
        return FaceResult(passed=outcome.passed, reason=outcome.reason,
                          person=await people.view(person, self.vault, now), session=session)

    # housing fund: a face session's outcome, for a use case that bound it to itself
    async def face_session_outcome(self, *, person_id: str, session_id: str) -> FaceSessionOutcome | None:
        """How this person's face session ended (None if it is not theirs or does not exist).

        A use case that needs a face scan bound to one act (a fund withdrawal) starts its own
        session with ``start_face``, keeps the id, and asks here: passed, and when the verdict was
        read (``face_result`` reads it once). docs/housing-fund.md."""
        person = await people.resolve(person_id)
        face = await FaceSession.get_or_none(id=session_id, person_id=person.id)
        if face is None:
            return None
        return FaceSessionOutcome(passed=bool(face.passed), read_at=face.read_at, created_at=face.created_at)

    # --- data sharing: departments check an identity ------------------------------------------

    async def match_identity(self, *, name: str, id_number: str, face_session: str | None = None) -> IdentityMatch:
        """match / no_match / unknown for a department's name + ID number (+ a face scan the
        citizen just passed): never the person's data (``matching.py``)."""
        return await matching.check(self.vault, name=name, number=IdNumber.parse(id_number),
                                    face_session=face_session, now=self.clock.now())

    async def id_number_of(self, *, person_id: str) -> str | None:
        """A real-name-verified citizen's own ID number (their data tracker finds their uses by
        it); None before real name."""
        person = await people.resolve(person_id)
        return None if person.id_number_sealed is None else self.vault.open(person.id_number_sealed, context=ID_NUMBER)

    # --- helpers ----------------------------------------------------------------------------

    async def _issue(self, person: Person, channel: str, device_id: str | None = None) -> IssuedSession:
        assurance = rules.current_assurance(stored=person.assurance, face_verified_at=person.face_verified_at,
                                            now=self.clock.now())
        return await self.tokens.issue(person=person, channel=channel, assurance=assurance, device_id=device_id)

    def _phone_hash(self, phone: str) -> str:
        return self.vault.lookup_hash(phone, context=PHONE)

    def _code_hash(self, phone_hash: str, code: str) -> str:
        return self.vault.lookup_hash(f"{phone_hash}:{code}", context="sms.code")


_MISMATCH = {
    "mismatch": "姓名与身份证号码不一致",
    "not_found": "未查询到该身份证号码的户籍信息",
    "deceased": "该身份证号码已注销",
}
