"""Typed errors of the catalog."""
from __future__ import annotations

from domain.shared.errors import InvalidInput, NotFound


class MatterNotFound(NotFound):
    code = "matter_not_found"
    title = "未找到该办事事项"


class InvalidMatter(InvalidInput):
    code = "invalid_matter"
    title = "事项信息不完整或有误"


class InvalidSearch(InvalidInput):
    code = "invalid_search"
    title = "搜索条件有误"
