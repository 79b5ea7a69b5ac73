"""Typed errors of admin accounts and sessions."""
from __future__ import annotations

from domain.shared.errors import Conflict, Forbidden, InvalidInput, NotFound, RateLimited, Unauthorized


class AdminCredentialsInvalid(Unauthorized):
    code = "admin_credentials_invalid"
    title = "用户名或密码错误"


class AdminAccountLocked(RateLimited):
    code = "admin_account_locked"
    title = "密码错误次数过多，账号已临时锁定"


class AdminSessionInvalid(Unauthorized):
    code = "admin_session_invalid"
    title = "管理登录已失效，请重新登录"


class RoleRequired(Forbidden):
    code = "role_required"
    title = "当前账号没有该操作所需的角色"


class AdminAccountInvalid(InvalidInput):
    code = "admin_account_invalid"
    title = "账号信息有误"


class AdminAccountExists(Conflict):
    code = "admin_account_exists"
    title = "用户名已被使用"


class AdminAccountNotFound(NotFound):
    code = "admin_account_not_found"
    title = "账号不存在"


class LastOperator(Conflict):
    code = "last_operator"
    title = "至少须保留一个启用的运维管理员账号"


class AdminAccountDisabled(Forbidden):
    code = "admin_account_disabled"
    title = "账号已停用，请联系运维管理员"
