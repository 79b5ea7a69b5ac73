"""Shapes of request and response bodies, for validation and for the OpenAPI document."""
from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Annotated, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, create_model

from domain.shared.errors import InvalidInput

# Integers as wide as the column that keeps them (a wider one was an OverflowError, a 500): JSON
# bodies are bounded to BIGINT as they are read (bff/common/jsonio.py); a field kept in an INTEGER
# column says so with Int32.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
Int16 = Annotated[int, Field(ge=-(2**15), le=2**15 - 1)]
Int32 = Annotated[int, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]
Count32 = Annotated[int, Field(ge=0, le=INT32_MAX)]
Id64 = Annotated[int, Field(ge=1, le=INT64_MAX)]
Version = Annotated[int, Field(ge=1, le=INT32_MAX, description="the version read (an INTEGER column)")]
Fen = Annotated[int, Field(ge=1, le=INT64_MAX, description="an amount in fen (分)")]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Out(BaseModel):
    """An answer's shape: every field it has, and no other (``additionalProperties: false``), so
    the document and the answers cannot drift apart unnoticed (tests/api/test_fuzz_openapi.py)."""

    model_config = ConfigDict(extra="forbid")


def shaped(model: type[BaseModel]):
    """Mark a presenter with the model of what it returns: routes document ``presenter.shape``."""

    def mark(presenter):
        presenter.shape = model
        return presenter

    return mark


@cache
def items_of(item: type[BaseModel], more: str | None = None, more_type: type = str) -> type[BaseModel]:
    """The list answer ``{"items": [...]}`` of ``item``s, with ``more`` (next_cursor, next_before)
    naming the next page when there is one (null on the last)."""
    name = item.__name__.removesuffix("Out") + "List"
    fields: dict = {"items": (list[item], ...)}
    if more:
        fields[more] = (more_type | None, Field(None, description="the next page's start; null on the last page"))
    return create_model(name, __base__=Out, **fields)


Time = Annotated[str, Field(description="ISO 8601 with the offset, Beijing time (+08:00)",
                            examples=["2026-11-27T10:00:00+08:00"])]
Day = Annotated[str, Field(description="a date, YYYY-MM-DD", examples=["2026-12-04"])]


class Query(BaseModel):
    """Query-string parameters: read by ``parse_query`` and listed in the OpenAPI from the same model.
    ``invalid`` is the error a bad parameter raises (a route may keep its own code). Frozen: one
    parsed query may be handed to every request that sends the same query string."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    invalid: ClassVar[type[InvalidInput]] = InvalidInput


class Problem(BaseModel):
    """application/problem+json (RFC 9457); `code` is stable, `title` is shown to the citizen."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[dict[str, str]] | None = None


class PersonCompact(Out):
    """A person as mini-programs show it: masked, few fields."""

    id: str = Field(description="stable person id (token subject); never the ID number")
    assurance: int = Field(description="1 channel account, 2 real-name verified, 3 face verified (fresh)")
    name_masked: str | None = None
    id_number_masked: str | None = Field(None, examples=["110105********0017"])
    phone_masked: str | None = Field(None, examples=["138****0001"])


class Person(PersonCompact):
    """A person as the app shows it: also the linked channels and when real name was verified."""

    channels: list[str]
    real_name_verified_at: str | None = None


class Session(Out):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "Bearer"
    person: Person | PersonCompact


class RefreshIn(Body):
    refresh_token: str = Field(min_length=16, max_length=512)


class RealNameIn(Body):
    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=1, max_length=32)


class RealNameOut(Out):
    person: Person | PersonCompact
    session: Session | None = Field(None, description="new tokens when this login joined a person already known")


class FaceStartOut(Out):
    id: str
    sdk_token: str = Field(description="hand to the face SDK on the device")
    expires_in: int


class FaceResultOut(Out):
    passed: bool
    reason: str
    person: Person | PersonCompact
    session: Session | None = Field(None, description="an L3 session when the face scan passed")


class IdentityOut(Out):
    name: str
    id_number: str


def _iso_day(value):
    """A query's day: YYYY-MM-DD and nothing else (pydantic would read "0" as 1970-01-01)."""
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("应为 YYYY-MM-DD 日期")
    return value


# A day in a query string: only YYYY-MM-DD (bodies are strict already)
QueryDay = Annotated[date, BeforeValidator(_iso_day), Field(description="YYYY-MM-DD")]
# A day in a body: JSON has no date, so YYYY-MM-DD text read here (bodies are validated strictly)
BodyDay = Annotated[date, BeforeValidator(lambda value: date.fromisoformat(_iso_day(value))),
                    Field(description="YYYY-MM-DD")]


def _aware_iso(value):
    """JSON has no datetime: read ISO-8601 text here (bodies are validated strictly), with a zone."""
    if not isinstance(value, str):
        raise ValueError("应为带时区的 ISO-8601 时间")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("应为带时区的 ISO-8601 时间，如 2026-11-27T10:00:00+08:00") from None
    if parsed.tzinfo is None:
        raise ValueError("时间须带时区，如 +08:00 或 Z")
    return parsed


# A time a node reports (event times): ISO-8601 text with a time zone, nothing else.
AwareTime = Annotated[datetime, BeforeValidator(_aware_iso), Field(description="ISO-8601 with a time zone")]
# A node's own id for an event it sends (dedupe key of /gov/v1 callbacks)
EventId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                               description="unique per node; a repeat answers the first result")]
