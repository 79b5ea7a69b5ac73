"""Shapes of data sharing's bodies (docs/sharing.md): services, grants, identity verifications, a
citizen's data uses."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from bff.common.schemas import Body, Out, Query, QueryDay
from domain.sharing import rules
from domain.sharing.service import Approval

Classification = Literal["public", "internal", "personal", "sensitive"]
Method = Literal["GET"]  # domain/sharing/rules.py METHODS


class FieldIn(Body):
    name: str = Field(max_length=64, examples=["household_address"])
    title: str = Field("", max_length=100, examples=["户籍地址"])
    classification: Classification
    source: str = Field(max_length=200, examples=["全国人口基础信息库"])


class OperationIn(Body):
    method: Method
    path: str = Field(max_length=300, examples=["/enterprises/{credit_code}"])


class SubjectIn(Body):
    in_: Literal["query", "path", "body"] = Field(alias="in")
    name: str = Field(max_length=64, description="the query parameter, the path's {name}, or the body's key")
    kind: Literal["person", "enterprise"] = Field("person", description="an ID number (the citizen's data "
                                                                        "tracker records the use) or a credit code")
    index: int | None = Field(None, ge=0, le=20, description="a path parameter's segment (the provider's own "
                                                             "bookkeeping; the hub reads the {name})")


class ServiceIn(Body):
    code: str = Field(max_length=64, examples=["household-register-extract"])
    subsystem: str = Field(max_length=64, examples=["population"])
    title: str = Field(max_length=200)
    description: str = Field("", max_length=2000)
    owner_department: str = Field(max_length=200)
    fields: list[FieldIn] = Field(min_length=1, max_length=200)
    operations: list[OperationIn] = Field(min_length=1, max_length=50)
    subject: SubjectIn | None = Field(None, description="where a call names the person (or company) it reads")
    openapi: dict[str, Any] = Field(description="an OpenAPI 3 description of the service")

    def description_dict(self) -> dict:
        return self.model_dump(by_alias=True)


class RetireIn(Body):
    notice_days: int = Field(30, ge=0, le=365, description="how long it still serves")


class FieldOut(Out):
    name: str
    title: str
    classification: Classification
    source: str


class OperationOut(Out):
    method: str
    path: str


class SubjectOut(Out):
    in_: str = Field(alias="in")
    name: str
    kind: Literal["person", "enterprise"]


class ServiceOut(Out):
    service_id: str = Field(description="{instance}/{memberClass}/{memberCode}/{subsystem}/{serviceCode}",
                            examples=["CN/GOV/bj-psb/population/household-register-extract"])
    provider: str
    code: str
    version: int
    subsystem: str
    title: str
    description: str
    owner_department: str
    fields: list[FieldOut]
    operations: list[OperationOut]
    subject: SubjectOut | None
    status: Literal["active", "retiring", "retired"]
    retire_at: str | None
    published_at: str


class ServiceDetailOut(ServiceOut):
    openapi: dict[str, Any]


class ServiceList(Out):
    items: list[ServiceOut]


class GrantIn(Body):
    provider: str = Field(max_length=64, description="the provider node (X-Road member code)")
    service_code: str = Field(max_length=64)
    fields: list[str] = Field(min_length=1, max_length=200)
    purpose: str = Field(max_length=500)
    legal_basis: str = Field(max_length=500, examples=["《中华人民共和国户口登记条例》第十条"])
    expected_daily_calls: int = Field(ge=1, le=100_000_000)
    operations: list[OperationIn] | None = Field(None, description="null: every operation of the service")
    investigative: bool = Field(False, description="uses stay hidden from the citizen for embargo_days")
    embargo_days: int = Field(0, ge=0, le=365)


class ApproveIn(Body):
    fields: list[str] | None = Field(None, description="fewer than asked, or null for all asked")
    quota_per_minute: int = Field(60, ge=1, le=60_000)
    valid_days: int = Field(365, ge=1, le=1095)

    def approval(self) -> Approval:
        return Approval(fields=None if self.fields is None else tuple(self.fields),
                        quota_per_minute=self.quota_per_minute, valid_days=self.valid_days)


class ReasonIn(Body):
    reason: str = Field(min_length=2, max_length=500)


class GrantOut(Out):
    id: str
    provider: str
    service_code: str
    consumer: str
    fields_requested: list[str]
    fields_granted: list[str] | None
    operations: list[OperationOut] | None
    purpose: str
    legal_basis: str
    expected_daily_calls: int
    quota_per_minute: int | None
    investigative: bool
    embargo_days: int
    status: Literal[rules.GRANT_STATUSES]  # type: ignore[valid-type]
    reason: str | None
    valid_from: str | None
    valid_until: str | None
    requested_at: str
    decided_at: str | None


class GrantList(Out):
    items: list[GrantOut]


class GrantQuery(Query):
    role: Literal["provider", "consumer"] | None = Field(None, description="this node's part; both when absent")
    status: Literal[rules.GRANT_STATUSES] | None = None  # type: ignore[valid-type]
    limit: int = Field(100, ge=1, le=500)


class AdminGrantQuery(Query):
    node: str | None = Field(None, max_length=64, description="as provider or consumer")
    status: Literal[rules.GRANT_STATUSES] | None = None  # type: ignore[valid-type]
    limit: int = Field(100, ge=1, le=500)


class IdentityCheckIn(Body):
    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=1, max_length=32)
    face_session: str | None = Field(None, max_length=64, description="a face scan the citizen just passed")


class IdentityCheckOut(Out):
    result: Literal["match", "no_match", "unknown"]
    face_checked: bool
    request_id: str = Field(description="the message log's id of this check")


class DataUseOut(Out):
    at: str
    kind: Literal["exchange", "identity_verification", "license_exchange", "health_records"]
    department: str = Field(description="the node's code")
    department_name: str
    service: str
    service_title: str
    fields: list[str]
    purpose: str
    issue: str | None = Field(description="the case behind the use, as the department named it")
    outcome: str


class DataUseList(Out):
    items: list[DataUseOut]
    next_cursor: str | None


class DataUseQuery(Query):
    department: str | None = Field(None, max_length=64, description="a node's code")
    since: QueryDay | None = Field(None, description="from this day (Beijing time), YYYY-MM-DD")
    until: QueryDay | None = Field(None, description="before this day (Beijing time), YYYY-MM-DD")
    cursor: str | None = Field(None, max_length=64)
    limit: int = Field(20, ge=1, le=100)
