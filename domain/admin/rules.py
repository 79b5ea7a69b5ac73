"""Pure rules of admin accounts: roles, what a valid account is, lockout, session lifetime."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

ROLES = ("topic_editor", "catalog_admin", "operator")
STATUSES = ("active", "disabled")

MAX_FAILED_LOGINS = 5  # consecutive wrong passwords before the account locks
LOCK_FOR = timedelta(minutes=15)

# An admin session ends after SESSION_IDLE without a request, and in any case SESSION_MAX after
# login: an unattended console closes itself, and a stolen token is worth a working day at most.
SESSION_IDLE = timedelta(hours=2)
SESSION_MAX = timedelta(hours=12)
TOUCH_EVERY = timedelta(seconds=60)  # last_seen is written at most this often, not on every request

PASSWORD_MIN, PASSWORD_MAX = 12, 128
_USERNAME = re.compile(r"^[a-z][a-z0-9_.-]{2,31}$")


def has_any_role(held: Iterable[str], needed: Iterable[str]) -> bool:
    return bool(set(held) & set(needed))


def account_problems(*, username: str | None = None, display_name: str | None = None,
                     roles: Iterable[str] | None = None, status: str | None = None,
                     password: str | None = None, password_username: str | None = None) -> list[dict]:
    """Field problems of the values given (``None`` = not being set)."""
    problems = []
    if username is not None and not _USERNAME.match(username):
        problems.append({"field": "username", "message": "应为3到32位小写字母、数字或 . _ -，以字母开头"})
    if display_name is not None and not 1 <= len(display_name.strip()) <= 64:
        problems.append({"field": "display_name", "message": "应为1到64个字符"})
    if roles is not None:
        roles = list(roles)
        if not roles or any(role not in ROLES for role in roles):
            problems.append({"field": "roles", "message": "应为以下角色中的一个或多个：" + "、".join(ROLES)})
    if status is not None and status not in STATUSES:
        problems.append({"field": "status", "message": "应为 active 或 disabled"})
    if password is not None:
        problems += password_problems(password, username=password_username or username or "")
    return problems


def password_problems(password: str, *, username: str) -> list[dict]:
    if not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
        return [{"field": "password", "message": f"密码应为{PASSWORD_MIN}到{PASSWORD_MAX}个字符"}]
    if username and username.lower() in password.lower():
        return [{"field": "password", "message": "密码不能包含用户名"}]
    return []


def normalise_roles(roles: Iterable[str]) -> list[str]:
    """Roles in their canonical order, once each: stored and compared in one shape."""
    held = set(roles)
    return [role for role in ROLES if role in held]


@dataclass(frozen=True)
class FailedLogin:
    failed_logins: int
    locked_until: datetime | None


def after_failed_login(*, failed_logins: int, now: datetime) -> FailedLogin:
    """Count one wrong password; the fifth in a row locks the name for LOCK_FOR."""
    failed = failed_logins + 1
    if failed >= MAX_FAILED_LOGINS:
        return FailedLogin(0, now + LOCK_FOR)  # the counter restarts once the lock has run out
    return FailedLogin(failed, None)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and now < locked_until


def login_name_key(name: str) -> str:
    """Where a login name's wrong passwords are counted: the same for a name with an account and
    one without, and for any text typed as a name."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def session_expires_at(*, created_at: datetime, last_seen_at: datetime) -> datetime:
    return min(last_seen_at + SESSION_IDLE, created_at + SESSION_MAX)


def session_alive(*, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
    return now < session_expires_at(created_at=created_at, last_seen_at=last_seen_at)


def should_touch(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= TOUCH_EVERY
