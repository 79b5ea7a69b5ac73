"""Typed errors of applications, each with a stable code and a title fit to show a citizen."""
from __future__ import annotations

from domain.shared.errors import Conflict, DomainError, InvalidInput, NotFound


class ApplicationNotFound(NotFound):
    """Also what another person's application looks like: 404, never 403."""

    code = "application_not_found"
    title = "未找到该办件"


class TransitionNotAllowed(Conflict):
    code = "application_transition_not_allowed"
    title = "办件当前状态不允许此操作"


class ApplicationChanged(Conflict):
    """Two changes of the same application crossed; the client may reload and retry."""

    code = "application_changed"
    title = "办件状态已变化，请刷新后重试"


class FormInvalid(InvalidInput):
    code = "application_form_invalid"
    title = "申请表填写有误"


class MaterialsInvalid(InvalidInput):
    code = "application_materials_invalid"
    title = "申请材料不齐全或有误"


class MaterialTypeNotAllowed(InvalidInput):
    code = "material_type_not_allowed"
    title = "不支持该文件格式"


class MaterialTooLarge(InvalidInput):
    code = "material_too_large"
    title = "文件过大"


class MatterNotOnline(Conflict):
    code = "matter_not_online"
    title = "该事项暂不支持在线申请"


class MatterEntryNotAllowed(Conflict):
    """The matter (or the application) belongs to another capability's entry point: ``entry``
    names it and ``route`` is where to go instead (relative to the channel's base)."""

    code = "matter_entry_not_allowed"
    title = "该事项须通过专门的入口办理"


class NoHandlingNode(DomainError):
    """No department node and no provincial platform for the matter: a platform gap, not the
    citizen's mistake; operators register the node and the same request then succeeds."""

    kind = "unavailable"
    code = "no_handling_node"
    title = "该事项的办理部门暂未接入，请稍后再试"
