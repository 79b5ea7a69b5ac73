"""Identity verification for departments (身份核验), one of the hub's own data services: a node
with a grant for it sends a name and an ID number (and, if the citizen just passed a face scan, its
session) and learns match / no_match / unknown — never the person's data. Like every exchange call
it takes a token of the grant's quota, goes to the message log, and to the citizen's tracker.
"""
from __future__ import annotations

import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime

from domain.shared.clock import Clock
from domain.shared.errors import DomainError
from domain.sharing import rules
from domain.sharing.catalog import IDENTITY_SERVICE
from domain.sharing.errors import GrantRequired, MessageLogUnavailable, QuotaExceeded
from domain.sharing.grants import Grants
from domain.sharing.message_log import MessageLog, Record, digest
from domain.sharing.ports import QuotaBucket
from domain.sharing.tracker import IDENTITY_VERIFICATION, DataUses

PATH = "/gov/v1/identity/verifications"


@dataclass(frozen=True)
class VerificationAsked:
    node: str
    name: str
    id_number: str
    face_session: str | None
    issue: str | None
    user_id: str | None
    body: bytes  # as received: its digest goes to the log
    received_at: datetime


@dataclass(frozen=True)
class VerificationAnswer:
    result: str  # match | no_match | unknown
    face_checked: bool
    request_id: str


class IdentityVerifications:
    def __init__(self, *, clock: Clock, grants: Grants, log: MessageLog, uses: DataUses, quota: QuotaBucket,
                 identity) -> None:
        self.clock, self.grants, self.log, self.uses, self.quota = clock, grants, log, uses, quota
        self.identity = identity

    async def verify(self, asked: VerificationAsked) -> VerificationAnswer:
        request_id, grant, fault, match = uuid.uuid4().hex, None, None, None
        try:
            if not await self.log.is_open():
                raise MessageLogUnavailable("消息日志时间戳服务异常超过允许时长，暂停身份核验")
            grant = await self.grants.usable(consumer=asked.node, provider=rules.HUB_PROVIDER,
                                             service_code=rules.IDENTITY_SERVICE)
            if grant is None:
                raise GrantRequired(f"节点 {asked.node} 没有身份核验服务的有效授权")
            allowed, wait = await self.quota.take(f"sharing:grant:{grant.id}", capacity=grant.quota_per_minute or 1,
                                                  per_seconds=60.0)
            if not allowed:
                raise QuotaExceeded(f"身份核验每分钟最多 {grant.quota_per_minute} 次", retry_after=max(1, math.ceil(wait)))
            match = await self.identity.match_identity(name=asked.name, id_number=asked.id_number,
                                                       face_session=asked.face_session)
        except DomainError as refusal:
            fault = refusal.code
            raise
        finally:
            await self._record(asked, request_id, grant, fault, match)
        return VerificationAnswer(result=match.result, face_checked=match.face_checked, request_id=request_id)

    async def _record(self, asked: VerificationAsked, request_id: str, grant, fault: str | None, match) -> None:
        now = self.clock.now()
        answer = json.dumps({"result": match.result}).encode() if match else b""
        uses = []
        if match is not None:  # the check used the number's owner's data, whether the hub knows them or not
            uses.append(await self.uses.row(
                subject=asked.id_number, at=now, kind=IDENTITY_VERIFICATION, node=asked.node,
                service=IDENTITY_SERVICE.service_id, service_title=IDENTITY_SERVICE.title,
                fields=("name", "id_number") + (("face",) if match.face_checked else ()), purpose=grant.purpose,
                issue=asked.issue, outcome=match.result, request_id=request_id, embargo_days=grant.embargo_days))
        await self.log.append(Record(
            kind=IDENTITY_VERIFICATION, message_id=request_id, request_id=request_id,
            client=str(rules.ClientId(rules.INSTANCE, rules.MEMBER_CLASS, asked.node, None)),
            service=IDENTITY_SERVICE.service_id, grant_id=grant.id if grant else None, consumer=asked.node,
            provider=rules.HUB_PROVIDER, user_id=asked.user_id, issue=asked.issue,
            subject_hash=self.uses.subject_hash(asked.id_number.strip().upper()), method="POST", path=PATH,
            fields_returned=("result",) if match else (), request_in_at=asked.received_at, request_out_at=None,
            response_in_at=None, response_out_at=now, request_bytes=len(asked.body), response_bytes=len(answer),
            request_digest=digest(asked.body), response_digest=digest(answer), request_hash="",
            status=200 if match else 0, fault=fault, uses=tuple(uses)))
