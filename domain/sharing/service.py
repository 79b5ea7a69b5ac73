"""Data sharing's one door for the BFF, the jobs and other capabilities: the catalog, grants,
the exchange, identity verifications, the message log and the citizen's tracker, built together.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from domain.shared.clock import Clock
from domain.shared.vault import Vault
from domain.sharing.catalog import HEALTH_RECORDS_SERVICE, ServiceCatalog, ServiceView
from domain.sharing.exchange import Exchange, ExchangeAnswer, ExchangeRequest
from domain.sharing.grants import Approval, GrantRequest, Grants, GrantView, Party
from domain.sharing.hub_services import HubCall, HubServices, Served
from domain.sharing.message_log import LogCheck, MessageLog
from domain.sharing.ports import LicenseUse, ProviderGateway, QuotaBucket, TimeStamper, TokenVerifier
from domain.sharing.tracker import HEALTH_RECORDS, DataUsePage, DataUses, DataUseView, UseFilters
from domain.sharing.verifications import IdentityVerifications, VerificationAnswer, VerificationAsked

__all__ = [
    "HEALTH_RECORDS",
    "HEALTH_RECORDS_SERVICE",
    "Approval",
    "DataUsePage",
    "DataUseView",
    "ExchangeAnswer",
    "ExchangeRequest",
    "GrantRequest",
    "GrantView",
    "HubCall",
    "LogCheck",
    "Party",
    "Served",
    "ServiceView",
    "SharingService",
    "UseFilters",
    "VerificationAnswer",
    "VerificationAsked",
]


class SharingService:
    def __init__(self, *, clock: Clock, vault: Vault, identity, nodes, gateway: ProviderGateway,
                 quota: QuotaBucket, stamper: TimeStamper, verifier: TokenVerifier,
                 max_unstamped: timedelta) -> None:
        """``identity``: the identity service (whose ID number; identity checks); ``nodes``: the
        node registry (endpoints, names)."""
        self.catalog = ServiceCatalog(clock=clock)
        self.grants = Grants(clock=clock, catalog=self.catalog)
        self.log = MessageLog(clock=clock, stamper=stamper, verifier=verifier, max_unstamped=max_unstamped)
        self.uses = DataUses(clock=clock, vault=vault, identity=identity, nodes=nodes)
        self.exchange = Exchange(clock=clock, catalog=self.catalog, grants=self.grants, log=self.log, uses=self.uses,
                                 gateway=gateway, quota=quota, nodes=nodes)
        self.hub_services = HubServices(clock=clock, grants=self.grants, log=self.log, uses=self.uses, quota=quota)
        self.verifications = IdentityVerifications(services=self.hub_services, identity=identity)

    async def call(self, request: ExchangeRequest) -> ExchangeAnswer:
        return await self.exchange.call(request)

    async def verify_identity(self, asked: VerificationAsked) -> VerificationAnswer:
        return await self.verifications.verify(asked)

    async def serve(self, call: HubCall, serve) -> tuple[Served, str]:
        """One of the hub's own services (``catalog.BUILT_IN``), called by a node about a citizen: under
        a grant and its quota, logged, tracked (hub_services.py). ``serve(grant)`` answers."""
        return await self.hub_services.call(call, serve)

    async def license_used(self, use: LicenseUse) -> None:
        """The ``DataUseRecorder`` port of licenses: a department's request for a citizen's license."""
        await self.uses.license_used(use)

    async def data_uses(self, *, person_id: str, filters: UseFilters = UseFilters(), cursor: str | None = None,
                        limit: int = 20) -> DataUsePage:
        return await self.uses.list(person_id=person_id, filters=filters, cursor=cursor, limit=limit)

    async def calls_by_consumer(self, *, since: datetime, until: datetime) -> dict[str, dict[str, int]]:
        """Calls the message log recorded in [since, until), by kind (``exchange``,
        ``identity_verification``) and consumer node: the platform's figures (domain/figures)."""
        return await self.log.calls_by_consumer(since, until)

    async def stamp_pending(self) -> int:
        return await self.log.stamp_pending()

    async def verify_log(self) -> LogCheck:
        return await self.log.verify()

    def forget_memos(self) -> None:
        self.catalog.forget()
        self.log.forget()
        self.exchange.forget()
