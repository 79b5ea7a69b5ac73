"""Typed errors of audit."""
from __future__ import annotations

from domain.shared.errors import InvalidInput


class AuditQueryInvalid(InvalidInput):
    code = "audit_query_invalid"
    title = "审计日志查询条件有误"
