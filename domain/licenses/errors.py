"""Typed errors of licenses."""
from __future__ import annotations

from domain.shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class LicenseInvalid(InvalidInput):
    code = "license_invalid"
    title = "证照信息有误"


class LicenseTypeUnknown(InvalidInput):
    code = "license_type_unknown"
    title = "证照类型不存在"


class LicenseExists(Conflict):
    code = "license_exists"
    title = "该证照编号已签发"


class LicenseNotFound(NotFound):
    code = "license_not_found"
    title = "证照不存在"


class IssuerNotAllowed(Forbidden):
    code = "license_issuer_not_allowed"
    title = "该部门无权签发或变更此类证照"


class StatusChangeRefused(Conflict):
    code = "license_status_change_refused"
    title = "证照当前状态不允许此项变更"


class LicenseNotPresentable(Conflict):
    code = "license_not_presentable"
    title = "证照当前状态不能亮证"


class ConsentRequired(Forbidden):
    code = "consent_required"
    title = "未获得证照持有人授权"


class ConsentNotFound(NotFound):
    code = "consent_not_found"
    title = "授权记录不存在"


class ConsentStateConflict(Conflict):
    code = "consent_state_conflict"
    title = "授权当前状态不允许此项操作"


class PresentationMalformed(InvalidInput):
    code = "presentation_malformed"
    title = "亮证码无法识别"

