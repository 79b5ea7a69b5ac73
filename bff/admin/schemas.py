"""Bodies of /admin/v1 and the public topic routes, for validation and the OpenAPI document.

Times travel as ISO 8601 text: shown in Beijing time (+08:00); a time sent without an offset is
read as Beijing time, the clock product teams plan by.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from bff.common.schemas import Body, Int32, Out, Version
from bff.common.topics import PublicTopic

Role = Literal["topic_editor", "catalog_admin", "operator"]
Channel = Literal["wechat", "alipay", "app", "pc"]


# --- sessions and accounts ---------------------------------------------------------------------

class LoginIn(Body):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class MeOut(Out):
    username: str
    display_name: str
    roles: list[Role]


class AdminSessionOut(Out):
    token: str = Field(description="send as `Authorization: Bearer <token>`; shown once")
    token_type: str = "Bearer"
    expires_at: str = Field(description="if unused until then; every request moves it on, up to ends_at")
    ends_at: str = Field(description="the latest the session lasts, however busy")
    me: MeOut


class AccountIn(Body):
    username: str = Field(min_length=3, max_length=32, examples=["zhang.wei"])
    display_name: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=12, max_length=128)
    roles: list[Role] = Field(min_length=1)


class AccountPatch(Body):
    display_name: str | None = Field(None, min_length=1, max_length=64)
    roles: list[Role] | None = Field(None, min_length=1)
    status: Literal["active", "disabled"] | None = Field(
        None, description="`disabled` ends the account's sessions; `active` also lifts a lockout")
    password: str | None = Field(None, min_length=12, max_length=128,
                                 description="a new password: ends the account's sessions, lifts a lockout")


class AccountOut(Out):
    username: str
    display_name: str
    roles: list[Role]
    status: str
    locked_until: str | None
    last_login_at: str | None
    password_changed_at: str
    created_at: str
    updated_at: str


class AccountList(Out):
    items: list[AccountOut]


class AuditEntryOut(Out):
    id: int
    at: str
    actor_id: int | None
    actor: str
    action: str = Field(examples=["topic.publish"])
    target_type: str
    target_id: str
    before: dict | list | None
    after: dict | list | None
    request_id: str | None


class AuditPageOut(Out):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(
        None, description="pass as `cursor` for older entries; null on the last page")


# --- topics --------------------------------------------------------------------------------------

class EntryIn(Body):
    id: str | None = Field(None, max_length=16, description="keep an existing entry's id when editing")
    kind: Literal["matter", "bundle", "link"]
    ref: str = Field(min_length=1, max_length=500, description="matter code, bundle code, or https URL")
    title: str | None = Field(None, max_length=40,
                              description="overrides the matter's name; required for a link")
    icon: str | None = Field(None, max_length=500)


class TopicIn(Body):
    code: str = Field(min_length=2, max_length=64, examples=["xiaowei-qiye"])
    title: str = Field(min_length=1, max_length=60)
    subtitle: str | None = Field(None, max_length=120)
    banner_url: str | None = Field(None, max_length=500)
    entries: list[EntryIn] = Field(default_factory=list)
    channels: list[Channel] = Field(default_factory=list)
    regions: list[str] = Field(default_factory=list, description="12-digit region codes; empty = nationwide")
    starts_at: str | None = Field(None, examples=["2026-03-01T00:00:00+08:00"])
    ends_at: str | None = None
    weight: Int32 = Field(0, description="higher shows first")


class TopicPatch(Body):
    """Fields present are changed (null clears an optional one); `version` or If-Match is required."""

    version: Version | None = None
    title: str | None = Field(None, min_length=1, max_length=60)
    subtitle: str | None = Field(None, max_length=120)
    banner_url: str | None = Field(None, max_length=500)
    entries: list[EntryIn] | None = None
    channels: list[Channel] | None = None
    regions: list[str] | None = None
    starts_at: str | None = None
    ends_at: str | None = None
    weight: Int32 | None = None


class ReorderIn(Body):
    order: list[str] = Field(description="every entry id of the topic, once each, in the new order")
    version: Version | None = None


class TransitionIn(Body):
    version: Version | None = Field(None, description="refuse (409) if the topic changed since this version")


class EntryOut(Out):
    id: str
    kind: str
    ref: str
    title: str | None
    icon: str | None


class TopicOut(Out):
    code: str
    title: str
    subtitle: str | None
    banner_url: str | None
    entries: list[EntryOut]
    channels: list[str]
    regions: list[str]
    status: Literal["draft", "published", "offline"]
    starts_at: str | None
    ends_at: str | None
    weight: int
    version: int
    published_at: str | None
    updated_at: str
    updated_by: str


class TopicList(Out):
    items: list[TopicOut]


class Reason(Out):
    code: str = Field(examples=["not_started"])
    message: str


class PreviewOut(Out):
    topic: PublicTopic = Field(description="exactly what the channel would show")
    visible: bool = Field(description="whether that channel and region would see it at `at`")
    reasons: list[Reason] = Field(description="why not, when not visible")
    at: str
    status: str
