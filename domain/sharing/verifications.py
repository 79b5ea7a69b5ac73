"""Identity verification for departments (身份核验), one of the hub's own data services: a node
with a grant for it sends a name and an ID number (and, if the citizen just passed a face scan, its
session) and learns match / no_match / unknown — never the person's data. Like every exchange call
it takes a token of the grant's quota, goes to the message log, and to the citizen's tracker.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from domain.sharing.catalog import IDENTITY_SERVICE
from domain.sharing.hub_services import HubCall, HubServices, Served
from domain.sharing.tracker import IDENTITY_VERIFICATION

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
    def __init__(self, *, services: HubServices, identity) -> None:
        self.services, self.identity = services, identity

    async def verify(self, asked: VerificationAsked) -> VerificationAnswer:
        async def serve(grant) -> Served:
            match = await self.identity.match_identity(name=asked.name, id_number=asked.id_number,
                                                       face_session=asked.face_session)
            # the check used the number's owner's data, whether the hub knows them or not
            return Served(answer=json.dumps({"result": match.result}).encode(),
                          fields=("name", "id_number") + (("face",) if match.face_checked else ()),
                          returned=("result",), outcome=match.result, face_checked=match.face_checked)

        call = HubCall(node=asked.node, service=IDENTITY_SERVICE, kind=IDENTITY_VERIFICATION, subject=asked.id_number,
                       path=PATH, body=asked.body, issue=asked.issue, user_id=asked.user_id,
                       received_at=asked.received_at)
        served, request_id = await self.services.call(call, serve)
        return VerificationAnswer(result=served.outcome, face_checked=served.face_checked, request_id=request_id)
