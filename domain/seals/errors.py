"""Typed errors of seals."""
from __future__ import annotations

from domain.shared.errors import Conflict, Forbidden, InvalidInput, NotFound


class SealInvalid(InvalidInput):
    code = "seal_invalid"
    title = "印章信息有误"


class SealNotFound(NotFound):
    code = "seal_not_found"
    title = "印章不存在"


class SealExists(Conflict):
    code = "seal_exists"
    title = "印章编码已存在"


class SealUnusable(Forbidden):
    """The seal is revoked, expired or not yet valid: nothing may be sealed with it."""

    code = "seal_unusable"
    title = "印章已失效，不能用于签章"


class SealedDocumentInvalid(InvalidInput):
    code = "sealed_document_invalid"
    title = "签章文件格式有误"
