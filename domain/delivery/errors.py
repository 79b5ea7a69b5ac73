"""Typed errors of the outbox and its operator tools."""
from __future__ import annotations

from domain.shared.errors import Conflict, InvalidInput, NotFound


class DeliveryInvalid(InvalidInput):
    """``enqueue`` called with arguments that cannot be a delivery (a caller's bug, said clearly)."""

    code = "delivery_invalid"
    title = "投递内容有误"


class DeliveryQueryInvalid(InvalidInput):
    code = "delivery_query_invalid"
    title = "查询条件有误"


class DeliveryNotFound(NotFound):
    code = "delivery_not_found"
    title = "投递记录不存在"


class DeliveryNotResendable(Conflict):
    """Only a parked delivery is resent: a pending one is still being tried, a delivered one is done."""

    code = "delivery_not_resendable"
    title = "该投递当前状态不可重发"
