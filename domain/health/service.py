"""Health codes recognised across regions (健康码互通互认): the use cases, in one place
(docs/health-codes.md). The parts: ``issuers`` (keys, signing), ``records`` (the pool),
``rulebook`` (published rules), ``codes`` (making, revoking), ``feeds`` (the three signed lists).

Who may act for a region is decided here once: its provincial platform's node (``issuer_of``).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from domain.health import feeds, rules
from domain.health.codes import Codes, CodeView, batch_entry
from domain.health.errors import IssuerOnly
from domain.health.feeds import FeedAsk, Feeds, Head
from domain.health.issuers import Issuer, Issuers, KeyView, trust_entry
from domain.health.ports import CredentialChecker, RegionSigner
from domain.health.records import Declaration, PushedRecord, Records, RecordView, declaration_content
from domain.health.rulebook import Rulebook, RuleDraft, rule_entry
from domain.seals.service import SealService
from domain.shared import idempotency
from domain.shared.clock import Clock
from domain.shared.vault import Vault
from domain.sharing.service import HEALTH_RECORDS, HEALTH_RECORDS_SERVICE, HubCall, Served, SharingService

__all__ = ["CodeView", "Declaration", "FeedAsk", "HealthService", "Issuer", "KeyView", "PushedRecord",
           "RecordView", "RecordsAsked", "RuleDraft"]


RECORDS_PATH = "/gov/v1/health/records/query"


@dataclass(frozen=True)
class RecordsAsked:
    id_number: str
    scope: str  # own | pooled
    body: bytes  # as received: its digest goes to the message log
    issue: str | None
    user_id: str | None
    received_at: datetime


class NodeActor(Protocol):
    """The calling node as the health module needs it (``domain.nodes.service.NodeIdentity``)."""

    code: str
    kind: str  # department | province
    region_code: str  # 12 digits


def issuer_of(node: NodeActor) -> Issuer:
    """A region acts through its provincial platform; a department, even a health one, does not issue."""
    if node.kind != "province":
        raise IssuerOnly(f"节点 {node.code} 不是省级平台，不能代表地区签发健康码")
    return Issuer(node_code=node.code, region=rules.province_of(node.region_code))


class HealthService:
    def __init__(self, *, clock: Clock, vault: Vault, seals: SealService, identity, sharing: SharingService,
                 region_signer: RegionSigner, checker: CredentialChecker, code_lifetime: timedelta,
                 rule_lead: timedelta) -> None:
        self._clock, self._seals, self._identity, self._checker = clock, seals, identity, checker
        self._sharing = sharing
        self.records = Records(clock=clock, vault=vault)
        self.rulebook = Rulebook(clock=clock, lead=rule_lead)
        self.issuers = Issuers(clock=clock, vault=vault, region_signer=region_signer, checker=checker)
        self.codes = Codes(clock=clock, records=self.records, rulebook=self.rulebook, issuers=self.issuers,
                           lifetime=code_lifetime)
        self.feeds = Feeds(clock=clock, seals=seals, entries={feeds.TRUST: trust_entry, feeds.RULES: rule_entry,
                                                              feeds.REVOCATIONS: batch_entry})
        self._published: tuple[tuple[int, ...], dict[str, list[dict]]] | None = None

    # --- a region (its provincial platform's node) ------------------------------------------

    async def register_key(self, node: NodeActor, *, certificate: bytes, credential_types: list[str]) -> KeyView:
        return await self.issuers.register(issuer_of(node), certificate=certificate, credential_types=credential_types)

    async def delegate_key(self, node: NodeActor, *, alg: str, credential_types: list[str], valid_days: int) -> KeyView:
        return await self.issuers.delegate(issuer_of(node), alg=alg, credential_types=credential_types,
                                           valid_days=valid_days)

    async def revoke_key(self, node: NodeActor, *, kid: str) -> KeyView:
        return await self.issuers.revoke(issuer_of(node), kid=kid)

    async def keys(self, node: NodeActor) -> list[KeyView]:
        return await self.issuers.keys(issuer_of(node).region)

    async def push_records(self, node: NodeActor, records: list[PushedRecord]) -> dict[str, int]:
        """Pool a region's records; a positive test takes back the person's codes at once (every
        region's: a green code must not outlive the news)."""
        issuer = issuer_of(node)
        outcome = await self.records.push(node_code=issuer.node_code, region=issuer.region, records=records)
        positive = {r.id_number for r in records if r.kind == "test" and r.result == "positive"}
        revoked = 0
        for id_number in sorted(positive):
            revoked += await self.codes.revoke_subject(self.records.subject_hash(id_number.strip().upper()))
        return {**outcome, "codes_revoked": revoked}

    async def query_records(self, node: NodeActor, asked: RecordsAsked) -> tuple[list[RecordView], str | None]:
        """A person's records and the exchange's request id: ``own`` — what this region itself pushed
        (no grant: its own data); ``pooled`` — every region's, only the kinds a grant of the hub's
        health-records service allows, logged and in the citizen's tracker (sharing's one door)."""
        if asked.scope == "own":
            return await self.records.of_person(asked.id_number, source=issuer_of(node).node_code), None
        answered: list[RecordView] = []

        async def serve(grant) -> Served:
            kinds = set(grant.fields_granted or ())
            answered.extend(r for r in await self.records.of_person(asked.id_number) if r.kind in kinds)
            answer = json.dumps([r.content for r in answered], ensure_ascii=False, default=str).encode()
            return Served(answer=answer, fields=tuple(sorted(kinds)), returned=tuple(sorted({r.kind for r in answered})),
                          outcome=f"{len(answered)} 条")

        call = HubCall(node=node.code, service=HEALTH_RECORDS_SERVICE, kind=HEALTH_RECORDS, subject=asked.id_number,
                       path=RECORDS_PATH, body=asked.body, issue=asked.issue, user_id=asked.user_id,
                       received_at=asked.received_at)
        _served, request_id = await self._sharing.serve(call, serve)
        return answered, request_id

    async def publish_rule(self, node: NodeActor, draft: RuleDraft) -> dict[str, Any]:
        return await self.rulebook.publish(region=issuer_of(node).region, draft=draft)

    async def withdraw_rule(self, node: NodeActor, *, identifier: str, version: int) -> dict[str, Any]:
        return await self.rulebook.withdraw(region=issuer_of(node).region, identifier=identifier, version=version)

    async def region_rules(self, node: NodeActor) -> list[dict[str, Any]]:
        return await self.rulebook.of_region(issuer_of(node).region)

    async def revoke_codes(self, node: NodeActor, *, credential_ids: list[str]) -> dict[str, Any]:
        return await self.codes.revoke(region=issuer_of(node).region, credential_ids=credential_ids)

    # --- a citizen ------------------------------------------------------------------------

    async def declare(self, *, person_id: str, declaration: Declaration,
                      idempotency_key: str | None = None) -> RecordView:
        person = await self._identity.reveal(person_id=person_id)
        claim = None if idempotency_key is None else idempotency.Claim(
            scope="health-declarations", person_id=person_id, key=idempotency_key,
            request_hash=idempotency.fingerprint(declaration_content(declaration)), operation="declare")
        return await self.records.declare(id_number=person["id_number"], declaration=declaration, claim=claim)

    async def my_records(self, *, person_id: str) -> list[RecordView]:
        person = await self._identity.reveal(person_id=person_id)
        return await self.records.of_person(person["id_number"])

    async def make_code(self, *, person_id: str, region: str) -> CodeView:
        person = await self._identity.reveal(person_id=person_id)
        return await self.codes.make(person_id=person_id, name=person["name"], id_number=person["id_number"],
                                     region=rules.province_of(region))

    async def my_codes(self, *, person_id: str) -> list[CodeView]:
        return await self.codes.current(person_id=person_id)

    # --- the signed lists and checking -------------------------------------------------------

    async def head(self, name: str) -> Head:
        return await self.feeds.head(name)

    async def list_page(self, name: str, ask: FeedAsk, head: Head | None = None) -> dict[str, Any]:
        return await self.feeds.page(name, ask, head)

    async def check(self, *, credential: str, checkpoint_region: str, at: datetime | None = None) -> dict[str, Any]:
        """What an offline verifier holding the newest lists would say (checkpoints without one)."""
        published = await self._published_lists()
        anchor = await self._seals.ensure_platform_seal()
        return self._checker.check(
            credential, checkpoint_region=rules.province_of(checkpoint_region), at=at or self._clock.now(),
            anchor={"key_id": anchor.key_id, "algorithm": anchor.algorithm, "public_key_pem": anchor.public_key_pem},
            trust_pages=published[feeds.TRUST], rule_pages=published[feeds.RULES],
            revocation_pages=published[feeds.REVOCATIONS])

    async def housekeeping(self) -> dict[str, int]:
        return {"revocation_batches_dropped": await self.codes.drop_expired_batches()}

    async def _published_lists(self) -> dict[str, list[dict]]:
        """Every page of the three lists, signed once per change of any (not on every check)."""
        seqs = tuple([(await self.feeds.head(name)).seq for name in (feeds.TRUST, feeds.RULES, feeds.REVOCATIONS)])
        if self._published is None or self._published[0] != seqs:
            self._published = (seqs, {name: await self.feeds.everything(name)
                                      for name in (feeds.TRUST, feeds.RULES, feeds.REVOCATIONS)})
        return self._published[1]

    def forget_memos(self) -> None:
        self._published = None
