"""Refusals of health codes, each with a stable code (docs/health-codes.md lists them)."""
from __future__ import annotations

from domain.shared.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class IssuerOnly(Forbidden):
    """Only a region's own provincial platform issues, pushes, publishes and revokes for it."""

    code = "health_issuer_only"
    title = "只有本地区的省级平台可以操作"


class KeyInvalid(InvalidInput):
    code = "health_key_invalid"
    title = "签发密钥或证书有误"


class KeyExists(Conflict):
    code = "health_key_exists"
    title = "该签发密钥已登记"


class KeyNotFound(NotFound):
    code = "health_key_not_found"
    title = "签发密钥不存在"


class NoSigningKey(Conflict):
    """The region has no key that may sign this kind of credential now."""

    code = "health_no_signing_key"
    title = "该地区暂无可用的健康码签发密钥"


class RegionSignatureInvalid(DomainError):
    """A region that signs itself answered with a signature its own certificate does not verify."""

    kind = "bad_gateway"
    code = "health_region_signature_invalid"
    title = "地区签发服务返回的签名无效"


class RecordInvalid(InvalidInput):
    code = "health_record_invalid"
    title = "健康信息有误"


class DeclarationRequired(Conflict):
    code = "health_declaration_required"
    title = "请先填报健康信息和行程"


class RulesMissing(Conflict):
    code = "health_rules_missing"
    title = "该地区尚未发布健康码赋码规则"


class RuleInvalid(InvalidInput):
    code = "health_rule_invalid"
    title = "规则有误"


class RuleStartsTooSoon(InvalidInput):
    """A checkpoint rule must reach every verifier before it applies."""

    code = "health_rule_starts_too_soon"
    title = "规则生效时间过早，须留出分发时间"


class RuleVersionExists(Conflict):
    code = "health_rule_version_exists"
    title = "该规则版本已发布"


class RevocationInvalid(InvalidInput):
    code = "health_revocation_invalid"
    title = "撤销请求有误"
