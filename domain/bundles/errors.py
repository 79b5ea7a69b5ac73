"""Typed errors of bundles, each with a stable code and a title fit to show a citizen."""
from __future__ import annotations

from domain.shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class BundleNotFound(NotFound):
    code = "bundle_not_found"
    title = "未找到该“一件事”"


class BundleInvalid(InvalidInput):
    """A declaration that cannot be saved or published: ``errors`` name each problem."""

    code = "bundle_invalid"
    title = "“一件事”配置有误"


class BundleExists(Conflict):
    code = "bundle_exists"
    title = "该“一件事”编码已存在"


class BundleVersionConflict(Conflict):
    code = "bundle_version_conflict"
    title = "配置已被他人修改，请刷新后重试"


class BundleNotPublished(Conflict):
    code = "bundle_not_published"
    title = "该“一件事”尚未上线"


class BundleFormInvalid(InvalidInput):
    code = "bundle_form_invalid"
    title = "申请表填写有误"


class BundleRunNotFound(NotFound):
    """Also what another person's bundle looks like: 404, never 403."""

    code = "bundle_run_not_found"
    title = "未找到该“一件事”办件"


class BundleNotRetryable(Conflict):
    code = "bundle_run_not_retryable"
    title = "当前没有需要重试的步骤"


class ConfirmationNotFound(NotFound):
    """No confirmation is waiting for this person on this bundle (or it is not theirs to give)."""

    code = "bundle_confirmation_not_found"
    title = "没有需要您确认的事项"


class ConfirmationClosed(Conflict):
    code = "bundle_confirmation_closed"
    title = "该事项已确认或已拒绝"


class ConfirmationNotAllowed(Forbidden):
    code = "bundle_confirmation_not_allowed"
    title = "申请人本人不能代替另一方确认"


class ConfirmationChanged(Conflict):
    """What the other party was shown is no longer what the bundle holds (the applicant changed
    it meanwhile): they confirm again what they see now."""

    code = "bundle_confirmation_changed"
    title = "需确认的内容已变更，请刷新后重新确认"


class ConfirmedFactsSent(Conflict):
    """A retry may not change what the other party confirmed once a step sent it to a department."""

    code = "bundle_confirmed_facts_sent"
    title = "另一方已确认并已提交办理的内容不能修改"
