"""The domain's error hierarchy.

Every error carries a stable ``code`` (clients branch on it), a Chinese ``title`` fit to show a
citizen, and a ``kind`` that the HTTP layer maps to a status. The domain never speaks HTTP: the
mapping from kind to status lives in ``bff/common/errors.py``.
"""
from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error a use case may raise on purpose."""

    kind: ClassVar[str] = "invalid"  # invalid | unauthorized | forbidden | not_found | conflict | rate_limited | unavailable | bad_gateway | gateway_timeout
    code: ClassVar[str] = "invalid_request"
    title: ClassVar[str] = "请求有误"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra  # safe, citizen-facing fields added to the problem document


class InvalidInput(DomainError):
    kind = "invalid"
    code = "invalid_input"
    title = "填写的信息有误"

    def __init__(self, detail: str = "", *, errors: list[dict[str, str]] | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        if errors:
            self.extra["errors"] = errors


class NotFound(DomainError):
    kind = "not_found"
    code = "not_found"
    title = "未找到相关信息"


class Conflict(DomainError):
    kind = "conflict"
    code = "conflict"
    title = "操作与当前状态冲突"


class Unauthorized(DomainError):
    kind = "unauthorized"
    code = "unauthorized"
    title = "请先登录"


class Forbidden(DomainError):
    kind = "forbidden"
    code = "forbidden"
    title = "没有权限办理此项业务"


class RateLimited(DomainError):
    kind = "rate_limited"
    code = "rate_limited"
    title = "操作过于频繁，请稍后再试"

    def __init__(self, detail: str = "", *, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.retry_after = retry_after


# --- errors raised by adapters: the outside world failed ------------------------------------


class UpstreamError(DomainError):
    """An external system (WeChat, Alipay, a department) did not give a usable answer."""

    def __init__(self, detail: str = "", *, system: str = "", upstream_code: str | None = None, **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.system = system
        self.upstream_code = upstream_code  # logged, never shown to a citizen


class UpstreamUnavailable(UpstreamError):
    """Timed out, refused, 5xx or "busy" after retries: try again later. Never means "no data"."""

    kind = "unavailable"
    code = "upstream_unavailable"
    title = "相关系统繁忙，请稍后再试"


class UpstreamRejected(UpstreamError):
    """The external system understood the request and said no."""

    kind = "invalid"
    code = "upstream_rejected"
    title = "相关部门未受理该请求"


class UpstreamRateLimited(UpstreamError):
    kind = "rate_limited"
    code = "upstream_rate_limited"
    title = "操作过于频繁，请稍后再试"


class InvalidCursor(InvalidInput):
    """A page cursor the hub did not write (``domain/shared/cursors.py``)."""

    code = "invalid_cursor"
    title = "分页参数已失效，请重新搜索"


class IdempotencyKeyRequired(InvalidInput):
    """A citizen's write sent without its ``Idempotency-Key`` (domain/shared/idempotency.py)."""

    code = "idempotency_key_required"
    title = "请求缺少 Idempotency-Key"


class IdempotencyKeyReused(Conflict):
    code = "idempotency_key_reused"
    title = "该请求标识已用于另一内容不同的请求"


class EventIdReused(Conflict):
    """A node's event id sent again with another body (domain/shared/node_events.py)."""

    code = "event_id_reused"
    title = "事件编号已用于另一内容不同的事件"
