"""Refusals of data sharing, each with a stable code (docs/sharing.md lists them)."""
from __future__ import annotations

from domain.shared.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited


class ServiceInvalid(InvalidInput):
    code = "data_service_invalid"
    title = "数据服务描述有误"


class ServiceNotFound(NotFound):
    code = "data_service_not_found"
    title = "数据服务不存在或已下线"


class ServiceNotOwned(Forbidden):
    code = "data_service_not_owned"
    title = "只有提供方节点可以管理该数据服务"


class GrantInvalid(InvalidInput):
    code = "data_grant_invalid"
    title = "数据共享申请有误"


class GrantNotFound(NotFound):
    code = "data_grant_not_found"
    title = "数据共享授权不存在"


class GrantStepNotAllowed(Conflict):
    code = "data_grant_step_not_allowed"
    title = "该授权当前状态下不能进行此操作"


class GrantPartyOnly(Forbidden):
    code = "data_grant_party_only"
    title = "只有授权的提供方或使用方可以进行此操作"


class GrantRequired(Forbidden):
    """No grant lets this client call this service, method and path: nothing crossed."""

    code = "data_grant_required"
    title = "未获得该数据服务的共享授权"


class ClientMismatch(Forbidden):
    code = "xroad_client_mismatch"
    title = "X-Road-Client 与签名节点不一致"


class ExchangeRequestInvalid(InvalidInput):
    code = "xroad_request_invalid"
    title = "数据交换请求格式有误"


class QuotaExceeded(RateLimited):
    code = "data_grant_quota_exceeded"
    title = "超出授权的调用频率，请稍后再试"


class ProviderUnavailable(DomainError):
    kind = "bad_gateway"
    code = "provider_unavailable"
    title = "数据提供方系统暂不可用"


class ProviderTimeout(DomainError):
    kind = "gateway_timeout"
    code = "provider_timeout"
    title = "数据提供方系统响应超时"


class ProviderAnswerInvalid(DomainError):
    kind = "bad_gateway"
    code = "provider_answer_invalid"
    title = "数据提供方返回的内容无法按授权字段过滤"


class MessageLogUnavailable(DomainError):
    """Time-stamping has failed for longer than allowed: the exchange fails closed."""

    kind = "unavailable"
    code = "message_log_unavailable"
    title = "数据交换日志暂无法加盖时间戳，交换已暂停"
