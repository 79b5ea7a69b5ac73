"""Pure decisions about nodes: what a registration must hold, and when a signed request is fresh."""
from __future__ import annotations

import re
from urllib.parse import urlsplit

from domain.shared.values import is_region_code

HUB_NODE_CODE = "govhub"  # the hub signs its own calls under this code; no node may take it
KINDS = ("department", "province")
STATUSES = ("active", "disabled")
WINDOW_SECONDS = 300  # a request's timestamp may differ from the hub's clock by this much, either way
# Hosts' clocks differ by a little even under NTP: keep a nonce a minute longer than strictly needed.
CLOCK_SKEW_MARGIN_SECONDS = 60

# Node codes: readable ids or a department's unified social credit code (18 upper-case characters).
_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{2,63}$")
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")  # [0-9], not \d: \d also matches non-ASCII digits
_SIGNATURE = re.compile(r"^[A-Za-z0-9+/]{16,200}={0,2}$")  # a DER P-256 signature is 70-72 bytes


def is_node_code(code: object) -> bool:
    return isinstance(code, str) and bool(_CODE.match(code))


def is_nonce(nonce: str) -> bool:
    return bool(_NONCE.match(nonce))


def is_timestamp(raw: str) -> bool:
    return bool(_TIMESTAMP.match(raw))


def is_signature_text(raw: str) -> bool:
    return bool(_SIGNATURE.match(raw))


def timestamp_fresh(timestamp: int, now: float, window: int = WINDOW_SECONDS) -> bool:
    """Within ``window`` seconds of the hub's clock, before or after (the boundary included)."""
    return abs(now - timestamp) <= window


def nonce_ttl(window: int = WINDOW_SECONDS) -> int:
    """How long a used nonce must be remembered.

    A nonce claimed at ``now`` carries a timestamp ``ts >= now - window``; a replay of it is
    fresh until ``ts + window <= now + 2 * window``. Forgetting it any sooner opens a replay."""
    return 2 * window + CLOCK_SKEW_MARGIN_SECONDS


def endpoint_problems(url: object) -> list[dict[str, str]]:
    """A delivery endpoint is an absolute http(s) URL without query or fragment (the hub appends
    ``/deliveries`` to it). Plain http is allowed: dev stubs and private networks use it."""
    message = [{"field": "endpoint_url", "message": "应为 http(s):// 开头、不含查询参数的完整地址"}]
    if not isinstance(url, str) or not 8 <= len(url) <= 500:
        return message
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        return message
    return []


def normalized_endpoint(url: str | None) -> str | None:
    return url.strip().rstrip("/") if url else None


def may_authenticate(status: str) -> bool:
    return status == "active"


def registration_problems(*, code: object, kind: object, name: object,
                          region_code: object) -> list[dict[str, str]]:
    """One entry per bad field (the public key is checked by the service, which parses it)."""
    problems = []
    if not is_node_code(code):
        problems.append({"field": "code", "message": "应为3到64位字母、数字或 . _ -，以字母或数字开头"})
    elif code.lower() == HUB_NODE_CODE:
        problems.append({"field": "code", "message": f"{HUB_NODE_CODE} 为平台自身保留"})
    if kind not in KINDS:
        problems.append({"field": "kind", "message": "应为 department 或 province"})
    if not isinstance(name, str) or not name.strip() or len(name) > 128:
        problems.append({"field": "name", "message": "应为1到128个字符"})
    if not is_region_code(region_code):
        problems.append({"field": "region_code", "message": "应为12位行政区划代码"})
    return problems
