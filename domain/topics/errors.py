"""Typed errors of topics."""
from __future__ import annotations

from domain.shared.errors import Conflict, InvalidInput, NotFound


class TopicInvalid(InvalidInput):
    code = "topic_invalid"
    title = "专题信息有误"


class TopicNotPublishable(InvalidInput):
    code = "topic_not_publishable"
    title = "专题信息不完整，暂不能发布"


class TopicNotFound(NotFound):
    code = "topic_not_found"
    title = "专题不存在"


class TopicExists(Conflict):
    code = "topic_exists"
    title = "专题编码已被使用"


class TopicVersionConflict(Conflict):
    """Someone changed the topic since the editor loaded it: reload, then redo the change."""

    code = "topic_version_conflict"
    title = "专题已被他人修改，请刷新后重试"


class TopicVersionRequired(InvalidInput):
    code = "topic_version_required"
    title = "请提供所修改专题的版本号"


class TopicTransitionRefused(Conflict):
    code = "topic_transition_refused"
    title = "专题当前状态不允许该操作"
