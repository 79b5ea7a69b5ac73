"""Pure rules of data sharing: no I/O, no clock of their own.

- a data service's description (fields and their classification, operations, where the data
  subject is named) and the check of a call against it;
- the grant's life as a state machine (data, with a property test);
- the exchange's addressing in X-Road's message protocol for REST (``/r1/{service id}[/path]``,
  ``X-Road-Client``), the request hash that binds an answer to its request, and the field filter
  that lets only granted fields leave the hub;
- when the message log refuses new calls (time-stamping failed too long), and embargoes.
"""
from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import unquote

from domain.sharing.errors import ExchangeRequestInvalid, GrantStepNotAllowed

# --- data services ------------------------------------------------------------------------------

PUBLIC, INTERNAL, PERSONAL, SENSITIVE = "public", "internal", "personal", "sensitive"
CLASSIFICATIONS = (PUBLIC, INTERNAL, PERSONAL, SENSITIVE)
METHODS = ("GET",)  # the exchange carries reads (a query in the query string; its log keeps no query)
ACTIVE, RETIRING, RETIRED = "active", "retiring", "retired"  # a service version's status
SUBJECT_PLACES = ("query", "path", "body")

INSTANCE = "CN"  # the X-Road instance every govhub identifier lives in
MEMBER_CLASS = "GOV"  # every node is a government body
HUB_PROVIDER = "govhub"  # services the hub itself provides (identity verification)
IDENTITY_SERVICE = "identity-verification"
HEALTH_RECORDS_SERVICE = "health-records"

_CODE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
_FIELD = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_TEMPLATE_SEGMENT = re.compile(r"^\{([a-z_][a-z0-9_]*)\}$")


@dataclass(frozen=True)
class Field:
    name: str
    title: str
    classification: str
    source: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # a template: /enterprises/{credit_code}


SUBJECT_KINDS = ("person", "enterprise")  # an ID number (a citizen's tracker) or a credit code


@dataclass(frozen=True)
class Subject:
    """Where a call names the person (or company) whose data it reads."""

    place: str  # query | path | body
    name: str  # the query parameter, the template's {name}, or the body's top-level key
    kind: str = "person"


@dataclass(frozen=True)
class ServiceTerms:
    """What a call is checked against: a published version of a data service."""

    provider: str
    code: str
    subsystem: str
    version: int
    fields: tuple[Field, ...]
    operations: tuple[Operation, ...]
    subject: Subject | None
    status: str
    retire_at: datetime | None

    @property
    def field_names(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields)


def check_description(description: Mapping[str, Any]) -> list[dict[str, str]]:
    """The field errors of a service description ([] when it is fine)."""
    errors: list[dict[str, str]] = []

    def bad(field: str, message: str) -> None:
        errors.append({"field": field, "message": message})

    if not _CODE.match(str(description.get("code", ""))):
        bad("code", "2到64位小写字母、数字、点、下划线或连字符")
    if not _CODE.match(str(description.get("subsystem", ""))):
        bad("subsystem", "2到64位小写字母、数字、点、下划线或连字符")
    fields = description.get("fields") or []
    names = [f.get("name") for f in fields if isinstance(f, Mapping)]
    if not fields or len(names) != len(fields):
        bad("fields", "至少一个字段，每个字段为对象")
    for i, field in enumerate(f for f in fields if isinstance(f, Mapping)):
        if not _FIELD.match(str(field.get("name", ""))):
            bad(f"fields[{i}].name", "小写字母开头，字母、数字或下划线")
        if field.get("classification") not in CLASSIFICATIONS:
            bad(f"fields[{i}].classification", "应为 " + " / ".join(CLASSIFICATIONS))
        if not str(field.get("source", "")).strip():
            bad(f"fields[{i}].source", "请说明数据来源")
    if len(set(names)) != len(names):
        bad("fields", "字段名不能重复")
    operations = description.get("operations") or []
    if not operations:
        bad("operations", "至少一个操作")
    for i, op in enumerate(operations):
        if not isinstance(op, Mapping) or op.get("method") not in METHODS:
            bad(f"operations[{i}].method", "应为 " + " / ".join(METHODS))
        elif not _valid_template(str(op.get("path", ""))):
            bad(f"operations[{i}].path", "以 / 开头的路径，参数写作 {name}")
    subject = description.get("subject")
    if subject is not None and (not isinstance(subject, Mapping) or subject.get("in") not in SUBJECT_PLACES
                                or not str(subject.get("name", "")).strip()
                                or subject.get("kind", "person") not in SUBJECT_KINDS):
        bad("subject", "应为 {\"in\": \"query\"|\"path\"|\"body\", \"name\": \"...\", \"kind\": \"person\"|\"enterprise\"}")
    if not isinstance(description.get("openapi"), Mapping):
        bad("openapi", "请提供 OpenAPI 描述（对象）")
    return errors


def _valid_template(path: str) -> bool:
    """``/extract``, ``/enterprises/{credit_code}``: one segment or more (a call names a path after the
    service id), each literal or one whole parameter."""
    if not path.startswith("/") or path == "/" or "?" in path or "//" in path or path.endswith("/"):
        return False
    return all(_TEMPLATE_SEGMENT.match(s) or "{" not in s and "}" not in s for s in path[1:].split("/"))


def match_operation(operations: Iterable[Operation], method: str, path: str) -> dict[str, str] | None:
    """The template parameters of the first operation ``method path`` matches; None if none does."""
    given = path.rstrip("/").split("/")[1:] if path not in ("", "/") else []
    for op in operations:
        if op.method != method.upper():
            continue
        template = op.path.rstrip("/").split("/")[1:] if op.path != "/" else []
        if len(template) != len(given):
            continue
        params: dict[str, str] = {}
        for want, got in zip(template, given):
            if m := _TEMPLATE_SEGMENT.match(want):
                if not got:
                    break
                params[m.group(1)] = unquote(got)
            elif want != got:
                break
        else:
            return params
    return None


def subject_of(subject: Subject | None, *, params: Mapping[str, str], query: Mapping[str, Sequence[str]],
               body: Any) -> str | None:
    """The data subject's identifier as the call names it (an ID number, a credit code), if it does."""
    if subject is None:
        return None
    if subject.place == "path":
        value = params.get(subject.name)
    elif subject.place == "query":
        values = query.get(subject.name) or []
        value = values[0] if len(values) == 1 else None  # twice is ambiguous: parameter pollution
    else:
        value = body.get(subject.name) if isinstance(body, Mapping) else None
    return str(value).strip().upper() if isinstance(value, str) and value.strip() else None


def serving(terms: ServiceTerms, now: datetime) -> bool:
    """A version serves while active, and while retiring until its notice runs out."""
    if terms.status == ACTIVE:
        return True
    return terms.status == RETIRING and terms.retire_at is not None and now < terms.retire_at


def filter_fields(body: Any, granted: frozenset[str]) -> tuple[Any, tuple[str, ...]]:
    """The provider's answer cut down to the granted fields, and the fields that left.

    An object keeps only granted top-level keys; a list keeps each object's granted keys. Any
    other shape cannot be filtered and is refused by the caller (``None``)."""
    if isinstance(body, Mapping):
        kept = {k: v for k, v in body.items() if k in granted}
        return kept, tuple(sorted(kept))
    if isinstance(body, list) and all(isinstance(item, Mapping) for item in body):
        kept_items = [{k: v for k, v in item.items() if k in granted} for item in body]
        return kept_items, tuple(sorted({k for item in kept_items for k in item}))
    return None, ()


# --- grants: a state machine as data ------------------------------------------------------------

REQUESTED, APPROVED, SUSPENDED, REFUSED, LAPSED, WITHDRAWN, REVOKED, EXPIRED = (
    "requested", "active", "suspended", "refused", "lapsed", "withdrawn", "revoked", "expired")
GRANT_STATUSES = (REQUESTED, APPROVED, SUSPENDED, REFUSED, LAPSED, WITHDRAWN, REVOKED, EXPIRED)
GRANT_STATUS_NAMES = {REQUESTED: "待审批", APPROVED: "已授权", SUSPENDED: "已暂停", REFUSED: "已拒绝",
                      LAPSED: "已过期未审批", WITHDRAWN: "已撤回", REVOKED: "已撤销", EXPIRED: "已到期"}
FINAL = frozenset({REFUSED, LAPSED, WITHDRAWN, REVOKED, EXPIRED})
PROVIDER, CONSUMER, OPERATOR, SYSTEM = "provider", "consumer", "operator", "system"


@dataclass(frozen=True)
class GrantStep:
    name: str
    sources: frozenset[str]
    target: str
    actors: frozenset[str]
    title: str


GRANT_STEPS = {s.name: s for s in (
    GrantStep("approve", frozenset({REQUESTED}), APPROVED, frozenset({PROVIDER}), "批准"),
    GrantStep("refuse", frozenset({REQUESTED}), REFUSED, frozenset({PROVIDER}), "拒绝"),
    GrantStep("withdraw", frozenset({REQUESTED}), WITHDRAWN, frozenset({CONSUMER}), "撤回申请"),
    GrantStep("lapse", frozenset({REQUESTED}), LAPSED, frozenset({SYSTEM}), "逾期未审批"),
    # an operator may stop a grant at once (a leak, an incident) but never grant access
    GrantStep("suspend", frozenset({APPROVED}), SUSPENDED, frozenset({PROVIDER, OPERATOR}), "暂停"),
    GrantStep("resume", frozenset({SUSPENDED}), APPROVED, frozenset({PROVIDER}), "恢复"),
    GrantStep("revoke", frozenset({APPROVED, SUSPENDED}), REVOKED, frozenset({PROVIDER, CONSUMER, OPERATOR}),
              "撤销"),
    GrantStep("expire", frozenset({APPROVED, SUSPENDED}), EXPIRED, frozenset({SYSTEM}), "到期"),
)}


def take_step(status: str, step: str, actor: str) -> str:
    """The grant's status after ``actor`` takes ``step``; GrantStepNotAllowed otherwise."""
    rule = GRANT_STEPS.get(step)
    if rule is None:
        raise ValueError(f"unknown grant step {step!r}")
    if status not in rule.sources or actor not in rule.actors:
        raise GrantStepNotAllowed(f"授权当前状态为“{GRANT_STATUS_NAMES[status]}”，不能{rule.title}",
                                  current_status=status, step=step)
    return rule.target


def usable(status: str, valid_from: datetime | None, valid_until: datetime | None, now: datetime) -> bool:
    """May a call cross under this grant now?"""
    return (status == APPROVED and valid_from is not None and valid_until is not None
            and valid_from <= now < valid_until)


def narrowed(requested: Sequence[str], granted: Sequence[str] | None) -> tuple[str, ...]:
    """The fields a provider approves: all requested, or fewer; never one that was not asked for."""
    if granted is None:
        return tuple(sorted(set(requested)))
    extra = set(granted) - set(requested)
    if extra:
        raise ValueError("、".join(sorted(extra)))
    return tuple(sorted(set(granted)))


def lapses_at(requested_at: datetime, days: int) -> datetime:
    return requested_at + timedelta(days=days)


def visible_from(at: datetime, embargo_days: int) -> datetime:
    """When a data use becomes visible to the citizen: at once, or after an investigation's embargo."""
    return at + timedelta(days=embargo_days)


# --- the exchange's addressing (X-Road message protocol for REST, r1) ----------------------------

PROTOCOL = "r1"


@dataclass(frozen=True)
class ServiceId:
    instance: str
    member_class: str
    member_code: str
    subsystem: str
    service_code: str

    def __str__(self) -> str:
        return "/".join((self.instance, self.member_class, self.member_code, self.subsystem, self.service_code))


@dataclass(frozen=True)
class ClientId:
    instance: str
    member_class: str
    member_code: str
    subsystem: str | None

    def __str__(self) -> str:
        parts = (self.instance, self.member_class, self.member_code) + ((self.subsystem,) if self.subsystem else ())
        return "/".join(parts)


def parse_service_path(raw_path: str) -> tuple[ServiceId, str]:
    """``/r1/CN/GOV/bj-psb/registry/household-register-extract/extract`` -> the service id and
    ``/extract``. Each part is percent-decoded on its own (the protocol's rule), after splitting."""
    parts = raw_path.split("/")
    if len(parts) < 7 or parts[0] != "" or parts[1] != PROTOCOL:
        raise ExchangeRequestInvalid("路径应为 /r1/{instance}/{memberClass}/{memberCode}/{subsystem}/{serviceCode}[/path]")
    decoded = [unquote(p) for p in parts[2:7]]
    if not all(decoded) or any("/" in p for p in decoded):
        raise ExchangeRequestInvalid("服务标识的各部分不能为空")
    rest = "/" + "/".join(parts[7:]) if len(parts) > 7 else "/"
    return ServiceId(*decoded), rest


def parse_client(header: str | None) -> ClientId:
    """``X-Road-Client: CN/GOV/bj-psb[/case-system]``."""
    parts = [unquote(p) for p in (header or "").strip().split("/")]
    if len(parts) not in (3, 4) or not all(parts):
        raise ExchangeRequestInvalid("X-Road-Client 应为 {instance}/{memberClass}/{memberCode}[/{subsystem}]")
    return ClientId(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else None)


def header_text(value: str | None, limit: int) -> str | None:
    """``X-Road-Issue`` and ``X-Road-UserId`` as text: clients percent-encode them in UTF-8 (a case
    number in Chinese cannot travel in a header otherwise); kept decoded, cut to ``limit``."""
    if not value or not value.strip():
        return None
    return unquote(value.strip(), errors="replace")[:limit]


# The headers the request hash covers, lower-cased: what says who asked what, and how.
HASHED_HEADERS = ("content-type", "x-road-client", "x-road-id", "x-road-issue", "x-road-service", "x-road-userid")


def request_hash(*, method: str, target: str, headers: Mapping[str, str], body: bytes) -> str:
    """``X-Road-Request-Hash``: base64 of SHA-512(SHA-512(headers) + SHA-512(body)), or of
    SHA-512(headers) when there is no body (the protocol's definition).

    "headers" is, in UTF-8, the request line ``METHOD target`` (target: path and query as
    received) and then each of ``HASHED_HEADERS`` present, as ``name: value`` with the name in
    lower case, in that order, every line ended by CRLF (docs/sharing.md has a worked example)."""
    lowered = {k.lower(): v for k, v in headers.items()}
    lines = [f"{method.upper()} {target}"] + [f"{n}: {lowered[n]}" for n in HASHED_HEADERS if n in lowered]
    head = hashlib.sha512("".join(line + "\r\n" for line in lines).encode()).digest()
    digest = hashlib.sha512(head + hashlib.sha512(body).digest()).digest() if body else head
    return base64.b64encode(digest).decode()


# --- the message log ----------------------------------------------------------------------------

GENESIS = "0" * 64


def log_open(oldest_unstamped_at: datetime | None, now: datetime, max_delay: timedelta) -> bool:
    """The exchange takes new calls while no record has waited for its timestamp longer than
    ``max_delay``: past that, time-stamping has failed and calls would go unprovable (fail closed)."""
    return oldest_unstamped_at is None or now - oldest_unstamped_at <= max_delay
