"""Console logins: password check with lockout, opaque session tokens, the per-request lookup.

Wrong passwords are counted per login name (``AdminLoginFailure``), not per account: a name no
account has is verified (against a decoy hash), counted, locked and answered exactly as a real
one, so neither the answers, their timing nor the lockout tell which names exist.

A token is 32 random bytes (URL-safe base64) given to the client once; the database keeps only
its SHA-256, so a copy of the table opens no console. Lifetimes are in ``rules`` (idle and
absolute limits).
"""
from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.admin import rules
from domain.admin.errors import (
    AdminAccountDisabled,
    AdminAccountLocked,
    AdminCredentialsInvalid,
    AdminSessionInvalid,
)
from domain.admin.models import AdminAccount, AdminLoginFailure, AdminSession
from domain.admin.passwords import Passwords
from domain.admin.service import TARGET, AdminPrincipal
from domain.audit.service import AuditLog
from domain.shared.clock import Clock

log = logging.getLogger("govhub.admin")


@dataclass(frozen=True)
class IssuedAdminSession:
    token: str
    expires_at: datetime  # if idle; every request moves it on, up to ``ends_at``
    ends_at: datetime  # at the latest, however busy
    principal: AdminPrincipal


class AdminSessions:
    def __init__(self, *, clock: Clock, passwords: Passwords) -> None:
        self._clock = clock
        self._passwords = passwords

    async def login(self, *, username: str, password: str, ip: str | None = None,
                    request_id: str | None = None) -> IssuedAdminSession:
        name = username if isinstance(username, str) else ""
        key = rules.login_name_key(name)
        now = self._clock.now()
        # The same reads, in the same order, whether or not the name has an account.
        failures = await AdminLoginFailure.get_or_none(name_hash=key)
        account = await AdminAccount.get_or_none(username=name) if 0 < len(name) <= 32 else None
        if failures is not None and rules.is_locked(failures.locked_until, now):
            raise _locked(failures.locked_until, now)
        # Verified even for an unknown username (against a decoy) so both take the same time.
        matches = await self._passwords.verify(account.password_hash if account else None, str(password))
        if not matches:  # never true for an unknown name
            await self._count_failure(key, account, now, request_id)
        if account.status != "active":
            raise AdminAccountDisabled()
        outdated = self._passwords.needs_rehash(account.password_hash)
        rehashed = await self._passwords.hash(password) if outdated else None
        return await self._open(account, now=now, ip=ip, rehashed=rehashed, request_id=request_id)

    async def authenticate(self, token: str) -> AdminPrincipal:
        """The principal of a live session, or AdminSessionInvalid."""
        if not isinstance(token, str) or not 20 <= len(token) <= 128:
            raise AdminSessionInvalid("管理登录令牌无效")
        session = await AdminSession.filter(token_hash=_hash(token)).select_related("account").first()
        if session is None:
            raise AdminSessionInvalid("管理登录令牌无效或已注销")
        now = self._clock.now()
        if not rules.session_alive(created_at=session.created_at, last_seen_at=session.last_seen_at, now=now):
            await AdminSession.filter(id=session.id).delete()
            raise AdminSessionInvalid("管理登录已超时，请重新登录")
        if session.account.status != "active":
            raise AdminSessionInvalid("账号已停用")
        if rules.should_touch(session.last_seen_at, now):
            await AdminSession.filter(id=session.id).update(last_seen_at=now)
        return principal(session.account, session_id=session.id)

    async def logout(self, *, principal: AdminPrincipal, request_id: str | None = None) -> None:
        async with in_transaction():
            ended = await AdminSession.filter(id=principal.session_id).delete()
            if ended:
                await AuditLog.record(actor=principal, action="session.logout", target_type=TARGET,
                                      target_id=principal.username, before={"session": principal.session_id},
                                      after=None, request_id=request_id, at=self._clock.now())

    async def _count_failure(self, key: str, account: AdminAccount | None, now: datetime,
                             request_id: str | None) -> NoReturn:
        if not await AdminLoginFailure.exists(name_hash=key):
            try:  # outside the transaction: a conflict there would abort it on PostgreSQL
                await AdminLoginFailure.create(name_hash=key, failed_logins=0, updated_at=now)
            except IntegrityError:
                pass  # a concurrent wrong password made it: counted below all the same
        async with in_transaction():
            fresh = await AdminLoginFailure.select_for_update().get(name_hash=key)
            outcome = rules.after_failed_login(failed_logins=fresh.failed_logins, now=now)
            await AdminLoginFailure.filter(id=fresh.id).update(failed_logins=outcome.failed_logins,
                                                               locked_until=outcome.locked_until, updated_at=now)
            if outcome.locked_until is not None:
                log.warning("admin login name %s locked after %d failed logins",
                            account.username if account else f"(no account, {key[:12]}…)", rules.MAX_FAILED_LOGINS)
            if outcome.locked_until is not None and account is not None:  # the audit trail names accounts
                await AuditLog.record(actor=principal(account), action="account.lock", target_type=TARGET,
                                      target_id=account.username, before={"locked_until": None},
                                      after={"locked_until": outcome.locked_until}, request_id=request_id,
                                      at=now)
        # Raised after the commit: raising inside the block would roll the count back.
        if outcome.locked_until is not None:
            raise _locked(outcome.locked_until, now)
        # No "attempts left": an unknown username could not say it, so saying it would reveal names.
        raise AdminCredentialsInvalid()

    async def _open(self, account: AdminAccount, *, now: datetime, ip: str | None, rehashed: str | None,
                    request_id: str | None) -> IssuedAdminSession:
        token = secrets.token_urlsafe(32)
        changes = {"last_login_at": now}
        if rehashed:  # argon2 parameters changed since this hash was made: upgrade it now
            changes["password_hash"] = rehashed
        async with in_transaction():
            await AdminAccount.filter(id=account.id).update(**changes)
            await AdminLoginFailure.filter(name_hash=rules.login_name_key(account.username)).delete()
            stale = [s.id for s in await AdminSession.filter(account_id=account.id)
                     if not rules.session_alive(created_at=s.created_at, last_seen_at=s.last_seen_at,
                                                now=now)]
            if stale:
                await AdminSession.filter(id__in=stale).delete()
            session = await AdminSession.create(token_hash=_hash(token), account_id=account.id,
                                                created_at=now, last_seen_at=now, ip=ip[:64] if ip else None)
            who = principal(account, session_id=session.id)
            await AuditLog.record(actor=who, action="session.login", target_type=TARGET,
                                  target_id=account.username, before=None,
                                  after={"session": session.id, "ip": session.ip,
                                         "password_rehashed": rehashed is not None},
                                  request_id=request_id, at=now)
        return IssuedAdminSession(token=token, principal=who,
                                  expires_at=rules.session_expires_at(created_at=now, last_seen_at=now),
                                  ends_at=now + rules.SESSION_MAX)


def principal(account: AdminAccount, *, session_id: int | None = None) -> AdminPrincipal:
    return AdminPrincipal(id=account.id, username=account.username, roles=frozenset(account.roles),
                          display_name=account.display_name, session_id=session_id)


def _locked(locked_until: datetime, now: datetime) -> AdminAccountLocked:
    wait = max(1, int((locked_until - now).total_seconds()) + 1)
    return AdminAccountLocked(f"请{(wait + 59) // 60}分钟后再试，或联系运维管理员解锁", retry_after=wait)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
