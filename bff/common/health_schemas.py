"""Shapes of health codes' bodies (docs/health-codes.md): issuers' keys, pushed records, rules,
revocations, checks, a citizen's declarations and codes."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from bff.common.schemas import AwareTime, Body, BodyDay, Out, Query

Region = Field(pattern=r"^[1-9]\d{5}$", examples=["330000"], description="a 6-digit division code")
Colour = Literal["green", "yellow", "red"]


class KeyIn(Body):
    certificate_pem: str | None = Field(None, max_length=20_000, description="the region's X.509 certificate "
                                        "(it keeps the private key and signs each code itself)")
    delegate: bool = Field(False, description="true: the hub makes the key and signs on the region's behalf")
    alg: Literal["ES256", "PS256"] = Field("ES256", description="for a delegated key")
    valid_days: int = Field(365, ge=1, le=1095, description="for a delegated key")
    credential_types: list[Literal["health_code"]] = Field(["health_code"], min_length=1, max_length=5)


class KeyOut(Out):
    kid: str
    region: str
    node: str
    alg: str
    certificate: str = Field(description="base64 DER")
    credential_types: list[str]
    valid_from: datetime
    valid_until: datetime
    delegated: bool
    status: Literal["active", "revoked"]
    revoked_at: datetime | None
    seq: int


class KeyList(Out):
    items: list[KeyOut]


class RecordIn(Body):
    record_id: str = Field(min_length=1, max_length=64, description="the region's own id: a push is idempotent")
    id_number: str = Field(min_length=15, max_length=18)
    kind: Literal["test", "vaccination", "travel"]
    occurred_at: AwareTime = Field(description="sampled, vaccinated or arrived")
    result: Literal["positive", "negative"] | None = None
    dose: int | None = Field(None, ge=1, le=10)
    visited: str | None = Field(None, pattern=r"^[1-9]\d{5}$")
    details: dict[str, Any] = Field(default_factory=dict)


class RecordsIn(Body):
    records: list[RecordIn] = Field(min_length=1, max_length=500)


class RecordsPushedOut(Out):
    received: int
    added: int
    already_known: int
    codes_revoked: int


class RecordsQueryIn(Body):
    id_number: str = Field(min_length=15, max_length=18)
    scope: Literal["own", "pooled"] = Field("own", description="own: what this region pushed; pooled: every "
                                            "region's, the kinds a grant of the hub's `health-records` allows")


class RecordOut(Out):
    kind: Literal["test", "vaccination", "travel", "declaration"]
    source: str
    region: str
    occurred_at: datetime
    content: dict[str, Any]


class RecordList(Out):
    items: list[RecordOut]


class RecordQueryOut(Out):
    items: list[RecordOut]
    request_id: str | None = Field(description="the exchange's request id (pooled reads: logged and tracked)")


class Description(Body):
    lang: str = Field(pattern=r"^[a-z]{2}$")
    desc: str = Field(min_length=1, max_length=500)


class RuleIn(Body):
    identifier: str = Field(pattern=r"^[A-Z]{2}-\d{6}-\d{4}$", examples=["AR-110000-0001"])
    version: int = Field(ge=1, le=1_000_000)
    type: Literal["acceptance", "colour-mapping", "colour"]
    certificate_type: Literal["health_code"] = "health_code"
    logic: Any = Field(description="CertLogic")
    description: list[Description] = Field(min_length=1, max_length=5)
    affected_fields: list[str] = Field(default_factory=list, max_length=20)
    valid_from: AwareTime
    valid_until: AwareTime


class RuleOut(Out):
    identifier: str
    region: str
    type: str
    version: int
    certificate_type: str
    engine: str
    engine_version: str
    logic: Any
    description: list[dict[str, str]]
    affected_fields: list[str]
    valid_from: str
    valid_until: str
    published_at: str
    status: Literal["active", "withdrawn"]
    seq: int


class RuleList(Out):
    items: list[RuleOut]


class RevokeIn(Body):
    credential_ids: list[str] = Field(min_length=1, max_length=1000)


class RevokedOut(Out):
    revoked: int
    batch_id: str | None
    already_revoked: int


class HealthCheckIn(Body):
    credential: str = Field(min_length=1, max_length=16_384, description="the HC1 text the QR code holds")
    checkpoint_region: str = Region
    at: AwareTime | None = Field(None, description="the moment to check at (default now): audits")


class HealthCheckOut(Out):
    result: Literal["accepted", "refused", "invalid"]
    code: str
    reason: str
    colour: str | None
    issued_colour: str | None
    issuer_region: str | None
    masked_name: str | None
    valid_until: str | None
    credential_hash: str | None
    kid: str | None
    key_source: str | None
    checked_at: str | None
    rules: list[dict[str, Any]]


class ListQuery(Query):
    since: int | None = Field(None, ge=0, le=2**63 - 1, description="the seq you hold: only later changes")
    limit: int = Field(200, ge=1, le=500)


class SignedList(Out):
    payload: dict[str, Any]
    algorithm: str
    key_id: str
    signature: str


class TripIn(Body):
    region: str = Region
    arrived: BodyDay
    left: BodyDay | None = None


class DeclarationIn(Body):
    region: str = Region
    trips: list[TripIn] = Field(default_factory=list, max_length=30)
    symptoms: list[Literal["fever", "cough", "fatigue", "sore_throat", "loss_of_smell", "breathing"]] = \
        Field(default_factory=list, max_length=6)


class CodeIn(Body):
    region: str = Region


class CodeOut(Out):
    credential: str = Field(description="HC1:…, shown as a QR code")
    credential_id: str
    region: str
    colour: Colour
    reasons: list[str]
    issued_at: datetime
    valid_until: datetime
    revoked: bool


class CodeList(Out):
    items: list[CodeOut]
