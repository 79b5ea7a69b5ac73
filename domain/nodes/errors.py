"""Typed errors of nodes: registration, and the refusals of a signed ``/gov/v1`` request.

Every refusal is a 401 with its own ``code`` so that a node's developer can tell a clock problem
from a key problem without asking the hub's operators.
"""
from __future__ import annotations

from domain.shared.errors import Conflict, InvalidInput, NotFound, Unauthorized


class NodeAuthError(Unauthorized):
    """Base of every refusal of a signed request."""

    code = "node_unauthorized"
    title = "节点身份验证失败"


class NodeHeadersMissing(NodeAuthError):
    code = "node_headers_missing"
    title = "缺少节点签名请求头"


class NodeHeadersInvalid(NodeAuthError):
    code = "node_headers_invalid"
    title = "节点签名请求头格式有误"


class NodeUnknown(NodeAuthError):
    code = "node_unknown"
    title = "节点未在平台登记"


class NodeDisabled(NodeAuthError):
    code = "node_disabled"
    title = "节点已停用"


class NodeTimestampStale(NodeAuthError):
    code = "node_timestamp_stale"
    title = "请求时间戳超出允许范围，请校准时钟"


class NodeSignatureInvalid(NodeAuthError):
    code = "node_signature_invalid"
    title = "节点签名验证失败"


class NodeNonceReplayed(NodeAuthError):
    code = "node_nonce_replayed"
    title = "请求随机数已使用，疑似重放"


# --- registry management ---------------------------------------------------------------------


class NodeInvalid(InvalidInput):
    code = "node_invalid"
    title = "节点登记信息有误"


class NodeExists(Conflict):
    code = "node_exists"
    title = "节点编码已被登记"


class NodeNotFound(NotFound):
    code = "node_not_found"
    title = "节点不存在"
