"""Typed errors of identity: login, real-name and face verification, tokens."""
from __future__ import annotations

from domain.shared.errors import Conflict, DomainError, Forbidden, InvalidInput, RateLimited, Unauthorized, UpstreamRejected


class LoginCodeInvalid(UpstreamRejected):
    """The channel's login code is unknown, used or expired (WeChat 40029, Alipay invalid auth code)."""

    code = "login_code_invalid"
    title = "登录凭证无效或已过期，请重新登录"


class ChannelUserBlocked(DomainError):
    """The channel refuses this user (WeChat 40226: high-risk user)."""

    kind = "forbidden"
    code = "channel_user_blocked"
    title = "该账号存在风险，已被平台限制登录"


class SmsCodeInvalid(Unauthorized):
    code = "sms_code_invalid"
    title = "短信验证码错误或已过期"


class SmsCodeLocked(RateLimited):
    code = "sms_code_locked"
    title = "验证码错误次数过多，请重新获取"


class SmsSendLimited(RateLimited):
    code = "sms_send_limited"
    title = "验证码发送过于频繁，请稍后再试"


class RealNameMismatch(InvalidInput):
    code = "real_name_mismatch"
    title = "姓名与身份证号码不一致"


class RealNameAlreadyBound(Conflict):
    code = "real_name_already_bound"
    title = "该账号已绑定其他实名身份"


class FaceSessionNotFound(InvalidInput):
    kind = "not_found"
    code = "face_session_not_found"
    title = "人脸核验会话不存在或已过期"


class FaceResultConsumed(Conflict):
    code = "face_result_consumed"
    title = "人脸核验结果已被读取，请重新核验"


class FaceVerificationFailed(Forbidden):
    code = "face_verification_failed"
    title = "人脸核验未通过"


class AssuranceRequired(Forbidden):
    code = "assurance_required"
    title = "请先完成更高级别的身份核验"


class TokenInvalid(Unauthorized):
    code = "token_invalid"
    title = "登录已失效，请重新登录"


UNKNOWN_PERSON = "登录对象不存在"  # a TokenInvalid detail: the person a token names is not (or no longer) known


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    title = "登录状态异常，请重新登录"
