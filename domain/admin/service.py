"""Admin accounts of product teams and operators: create, change, list. Every change is audited
in the transaction that makes it. Logins live in ``sessions.py``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from domain.admin import rules
from domain.admin.errors import AdminAccountExists, AdminAccountInvalid, AdminAccountNotFound, LastOperator
from domain.admin.models import AdminAccount, AdminLoginFailure, AdminSession
from domain.admin.passwords import Passwords
from domain.audit.service import Actor, AuditLog
from domain.shared.clock import Clock

TARGET = "admin_account"


@dataclass(frozen=True)
class AdminPrincipal:
    """Who is calling /admin/v1, as the guard puts it on ``request.ctx.admin``. Loaded from the
    database on every request, so a role taken away or an account disabled counts at once."""

    id: int
    username: str
    roles: frozenset[str]
    display_name: str = ""
    session_id: int | None = None

    def has_role(self, *roles: str) -> bool:
        return rules.has_any_role(self.roles, roles)


@dataclass(frozen=True)
class AccountView:
    username: str
    display_name: str
    roles: tuple[str, ...]
    status: str
    locked_until: datetime | None  # of the account's name (wrong passwords are counted per name)
    last_login_at: datetime | None
    password_changed_at: datetime
    created_at: datetime
    updated_at: datetime


class AdminAccounts:
    def __init__(self, *, clock: Clock, passwords: Passwords) -> None:
        self._clock = clock
        self._passwords = passwords

    async def create(self, *, actor: Actor, username: str, display_name: str, password: str, roles: list[str],
                     request_id: str | None = None) -> AccountView:
        _check(rules.account_problems(username=username, display_name=display_name, roles=roles,
                                      password=password))
        password_hash = await self._passwords.hash(password)  # before the transaction: it is slow
        now = self._clock.now()
        try:
            async with in_transaction():
                if await AdminAccount.exists(username=username):
                    raise AdminAccountExists(f"用户名 {username} 已被使用")
                account = await AdminAccount.create(
                    username=username, display_name=display_name.strip(), password_hash=password_hash,
                    roles=rules.normalise_roles(roles), status="active", password_changed_at=now,
                    created_at=now, updated_at=now)
                # wrong passwords typed for the name before it had an account are not the new account's
                await AdminLoginFailure.filter(name_hash=rules.login_name_key(username)).delete()
                await AuditLog.record(actor=actor, action="account.create", target_type=TARGET,
                                      target_id=username, before=None, after=snapshot(account),
                                      request_id=request_id, at=now)
        except IntegrityError as exc:  # created by someone else between the check and the insert
            raise AdminAccountExists(f"用户名 {username} 已被使用") from exc
        return view(account)

    async def update(self, *, actor: Actor, username: str, display_name: str | None = None,
                     roles: list[str] | None = None, status: str | None = None, password: str | None = None,
                     request_id: str | None = None) -> AccountView:
        """Change what is given. A new password or ``status="disabled"`` ends the account's
        sessions; a new password or ``status="active"`` also lifts a lockout."""
        _check(rules.account_problems(display_name=display_name, roles=roles, status=status,
                                      password=password, password_username=username))
        password_hash = await self._passwords.hash(password) if password is not None else None
        now = self._clock.now()
        async with in_transaction():
            account = await _account(username, for_update=True)
            locked_until = await _locked_until(username)
            before = snapshot(account, locked_until)
            _apply(account, display_name=display_name, roles=roles, status=status,
                   password_hash=password_hash, now=now)
            if password_hash is not None or status == "active":  # lifts a lockout
                await AdminLoginFailure.filter(name_hash=rules.login_name_key(username)).delete()
                locked_until = None
            if snapshot(account, locked_until) == before and password_hash is None:
                return view(account, locked_until)  # nothing changed: nothing to record (a reset always counts)
            if "operator" in before["roles"] and before["status"] == "active":
                await _keep_an_operator(account)
            account.updated_at = now
            await account.save()
            if password_hash is not None or account.status == "disabled":
                await AdminSession.filter(account_id=account.id).delete()
            await AuditLog.record(actor=actor, action="account.update", target_type=TARGET,
                                  target_id=username, before=before, after=snapshot(account, locked_until),
                                  request_id=request_id, at=now)
        return view(account, locked_until)

    async def get(self, username: str) -> AccountView:
        account = await _account(username)
        return view(account, await _locked_until(account.username))

    async def list(self) -> list[AccountView]:
        accounts = await AdminAccount.all().order_by("username")
        keys = {rules.login_name_key(a.username): a.username for a in accounts}
        locks = {keys[f.name_hash]: f.locked_until
                 for f in await AdminLoginFailure.filter(name_hash__in=list(keys), locked_until__isnull=False)}
        return [view(account, locks.get(account.username)) for account in accounts]

    async def exists(self, username: str) -> bool:
        return await AdminAccount.exists(username=username)


def _apply(account: AdminAccount, *, display_name, roles, status, password_hash, now) -> None:
    if display_name is not None:
        account.display_name = display_name.strip()
    if roles is not None:
        account.roles = rules.normalise_roles(roles)
    if status is not None:
        account.status = status
    if password_hash is not None:
        account.password_hash = password_hash
        account.password_changed_at = now


async def _keep_an_operator(changed: AdminAccount) -> None:
    """Refuse a change that leaves no active operator: nobody could manage accounts any more."""
    if "operator" in changed.roles and changed.status == "active":
        return
    others = await AdminAccount.filter(status="active").exclude(id=changed.id)
    if not any("operator" in other.roles for other in others):
        raise LastOperator(f"{changed.username} 是最后一个启用的运维管理员，不能停用或移除其 operator 角色")


async def _account(username: str, *, for_update: bool = False) -> AdminAccount:
    query = AdminAccount.select_for_update() if for_update else AdminAccount
    account = await query.get_or_none(username=username) if isinstance(username, str) else None
    if account is None:
        raise AdminAccountNotFound(f"账号 {username} 不存在")
    return account


def _check(problems: list[dict]) -> None:
    if problems:
        raise AdminAccountInvalid("请检查以下字段：" + "、".join(p["field"] for p in problems),
                                  errors=problems)


async def _locked_until(username: str) -> datetime | None:
    failures = await AdminLoginFailure.get_or_none(name_hash=rules.login_name_key(username))
    return failures.locked_until if failures else None


def snapshot(account: AdminAccount, locked_until: datetime | None = None) -> dict:
    """What the audit log keeps of an account: never the password hash, only when it changed."""
    return {"username": account.username, "display_name": account.display_name, "roles": list(account.roles),
            "status": account.status, "locked_until": locked_until,
            "password_changed_at": account.password_changed_at}


def view(account: AdminAccount, locked_until: datetime | None = None) -> AccountView:
    return AccountView(username=account.username, display_name=account.display_name,
                       roles=tuple(account.roles),
                       status=account.status, locked_until=locked_until,
                       last_login_at=account.last_login_at, password_changed_at=account.password_changed_at,
                       created_at=account.created_at, updated_at=account.updated_at)
