"""Typed errors of the catalog."""
from __future__ import annotations

from domain.shared.errors import Conflict, InvalidInput, NotFound


class MatterNotFound(NotFound):
    code = "matter_not_found"
    title = "未找到该办事事项"


class InvalidMatter(InvalidInput):
    code = "invalid_matter"
    title = "事项信息不完整或有误"


class InvalidSearch(InvalidInput):
    code = "invalid_search"
    title = "搜索条件有误"


class InvalidSearchWord(InvalidInput):
    code = "invalid_search_word"
    title = "搜索词有误"


class SearchWordNotFound(NotFound):
    code = "search_word_not_found"
    title = "搜索词不存在"


class SearchWordExists(Conflict):
    code = "search_word_exists"
    title = "该搜索词已存在"


class SearchWordVersionRequired(InvalidInput):
    code = "search_word_version_required"
    title = "请提供所修改搜索词的版本号"


class SearchWordVersionConflict(Conflict):
    """Another editor changed the entry since it was read: reload, then redo the change."""

    code = "search_word_version_conflict"
    title = "搜索词已被他人修改，请刷新后重试"
