"""The mock's citizens: stable channel identities derived from a user name.

Everything is derived by hashing so that the same user always gets the same openid, unionid,
Alipay user_id and phone across restarts, without any stored table.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoIdentity:
    name: str
    id_number: str


DEMO_PHONES = {
    "alice": "13800000001",
    "bob": "13800000002",
    "carol": "13800000003",
    "dave": "13800000004",
    "erin": "13800000005",
}

# Real people of the fictional population register the department stubs agree on.
DEMO_IDENTITIES = {
    "alice": DemoIdentity("张丽", "110105199003070017"),
    "bob": DemoIdentity("王强", "330106198805120023"),
    "carol": DemoIdentity("李娜", "310115199208150037"),
    "dave": DemoIdentity("赵伟", "110101197501010047"),
    "erin": DemoIdentity("陈静", "440305199511110051"),
}

# WeChat's risk control refuses these users (jscode2session errcode 40226).
HIGH_RISK_USERS = frozenset({"mallory"})


def _digest(*parts: str) -> bytes:
    return hashlib.sha256(":".join(parts).encode()).digest()


def _digits(raw: bytes, count: int) -> str:
    return str(int.from_bytes(raw, "big")).zfill(count)[-count:]


def wechat_openid(appid: str, user: str) -> str:
    """Per mini-program id: real openids are 28 characters starting with 'o'."""
    return "o" + base64.urlsafe_b64encode(_digest("openid", appid, user)).decode()[:27]


def wechat_unionid(user: str) -> str:
    """One per WeChat user across all apps of the same open-platform account."""
    return "o" + base64.urlsafe_b64encode(_digest("unionid", user)).decode()[:27]


def phone_of(user: str) -> str:
    if user in DEMO_PHONES:
        return DEMO_PHONES[user]
    return "139" + _digits(_digest("phone", user), 8)


def alipay_user_id(user: str) -> str:
    """Alipay user ids are "2088" followed by 12 digits."""
    return "2088" + _digits(_digest("alipay", user), 12)


def alipay_open_id(app_id: str, user: str) -> str:
    """Per application, like Alipay's newer open_id (user_id is being phased out)."""
    return "0" + base64.urlsafe_b64encode(_digest("alipay-open-id", app_id, user)).decode()[:43]


def describe(user: str, *, wechat_appid: str, alipay_app_id: str) -> dict:
    """Everything a test may want to know about a mock user, in one document."""
    identity = DEMO_IDENTITIES.get(user)
    return {
        "user": user,
        "phone": phone_of(user),
        "wechat": {"openid": wechat_openid(wechat_appid, user), "unionid": wechat_unionid(user)},
        "alipay": {"user_id": alipay_user_id(user), "open_id": alipay_open_id(alipay_app_id, user)},
        "identity": {"name": identity.name, "id_number": identity.id_number} if identity else None,
        "high_risk": user in HIGH_RISK_USERS,
    }
