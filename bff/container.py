"""The composition root: the one place that builds adapters and hands them to the domain services.

``build_hub(settings)`` connects the database and Redis and builds every service in dependency
order, each by constructor injection, into one frozen ``Hub``; ``close_hub`` closes what it
opened. Two pairs of services need each other, and meet through a port created before either
(both in the domain, both named here where they are filled):
- ``TransitionListeners``: applications tell their listeners of every status change; bundles
  listen, but also submit through applications, so they join once both exist.
- ``Senders``: notifications enqueue through the outbox, and their senders are the outbox's; the
  registry is handed to delivery first and the notification senders join it.

To add a capability: one builder below (or a line in ``build_hub``), one field on ``Hub`` and its
twin on ``HubContext`` (what routes read as ``request.app.ctx.<name>``).
"""
from __future__ import annotations

import base64
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, fields
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TypeVar

from adapters.alipay.client import AlipayLoginClient
from adapters.cache import redis as redis_adapter
from adapters.cache.catalog import RedisJsonCache, RedisPopularityCounter
from adapters.cache.nonces import RedisNonceStore
from adapters.cache.pubsub import RedisChangeFeed
from adapters.cache.ratelimit import TokenBucketLimiter
from adapters.cache.revocations import RedisSessionRevocations
from adapters.cache.traffic import RedisTraffic
from adapters.departments.bank_card_stub import BankCardsNotConfigured, StubBankCards
from adapters.departments.credit_stub import CreditNotConfigured, StubCreditRecords
from adapters.departments.exchange_gateway import SignedProviderGateway
from adapters.departments.fund_centre_client import HttpFundCentres
from adapters.departments.node_client import SignedNodeClient
from adapters.departments.node_sender import NodeSender
from adapters.departments.public_security import StubRealNameVerifier, load_register
from adapters.face.stub import StubFaceVerifier
from adapters.health.checker import VerifierChecker
from adapters.health.region_signer import HttpRegionSigner
from adapters.notify.alipay import AlipayTemplateMessages
from adapters.notify.push import PushNotConfigured, RecordingPushStub
from adapters.notify.sms import HttpSmsNotifier
from adapters.notify.wechat import WeChatSubscribeMessages
from adapters.sms.client import HttpSmsSender
from adapters.storage.local import LocalMaterialStore
from adapters.timestamping.client import TsaClient
from adapters.timestamping.verify import TsaVerifier
from adapters.wechat.client import WeChatLoginClient
from adapters.wechat.storage import RedisSessionStorage
from bff import database
from bff.common.traffic import RequestTally
from bff.settings import Settings, SettingsError
from domain.admin.passwords import Passwords
from domain.admin.service import AdminAccounts
from domain.admin.sessions import AdminSessions
from domain.applications.instant_step import SoleProprietorInstantApproval
from domain.applications.ports import TransitionListeners
from domain.applications.service import ApplicationService
from domain.applications.wallet import LicenseServiceWallet
from domain.bundles.service import BundleService
from domain.catalog.search_words import SearchWordService
from domain.catalog.service import CatalogService
from domain.delivery.ports import Senders
from domain.delivery.rules import NODE_KINDS
from domain.delivery.service import DeliveryService
from domain.figures.service import FiguresService
from domain.health.service import HealthService
from domain.home.service import HomeService
from domain.housing_fund.service import HousingFundService
from domain.identity.service import IdentityService
from domain.identity.tokens import TokenService
from domain.licenses.catalog import CatalogLicenseTypes
from domain.licenses.exchange import ExchangeService
from domain.licenses.holders import IdentityHolders
from domain.licenses.presentations import PresentationService
from domain.licenses.service import LicenseService
from domain.nodes.service import HubKey, NodeRegistry, hub_key
from domain.nodes.statements import StatementSigner
from domain.notifications.senders import senders as notification_senders
from domain.notifications.service import NotificationService, Template, Templates
from domain.regions.service import RegionService
from domain.seals.service import SealService
from domain.shared.clock import Clock
from domain.shared.vault import Vault
from domain.sharing.service import SharingService
from domain.topics.service import TopicService

# node_client_factory(base_url=...) -> a SignedNodeClient signing as the hub ("govhub")
NodeClientFactory = Callable[..., SignedNodeClient]
Push = RecordingPushStub | PushNotConfigured
Alipay = TypeVar("Alipay", bound=AlipayLoginClient)


@dataclass(frozen=True)
class Hub:
    """What a running hub holds: its connections and the domain services, in the order they are
    built. ``closing`` closes the connections and HTTP pools opened on the way (``close_hub``)."""

    settings: Settings
    redis: redis_adapter.RedisClients
    closing: AsyncExitStack
    clock: Clock
    vault: Vault
    tokens: TokenService
    nodes: NodeRegistry
    hub_node_key: HubKey
    node_client_factory: NodeClientFactory
    statement_signer: StatementSigner  # statements the hub vouches for (a fund centre's payout instruction)
    catalog: CatalogService
    regions: RegionService
    admin_accounts: AdminAccounts
    admin_sessions: AdminSessions
    topics: TopicService
    rate_limiter: TokenBucketLimiter
    identity: IdentityService
    delivery: DeliveryService
    node_sender: NodeSender  # the relay's sender of node.* deliveries
    notifications: NotificationService
    push: Push
    seals: SealService
    licenses: LicenseService
    presentations: PresentationService
    instant_approval: SoleProprietorInstantApproval
    applications: ApplicationService
    home: HomeService
    license_exchange: ExchangeService
    housing_fund: HousingFundService
    bundles: BundleService
    sharing: SharingService
    health: HealthService
    figures: FiguresService
    request_tally: RequestTally

    def forget_memos(self) -> None:
        """Drop what this process remembers of the database between reads (topic lists, search
        words, matters and handling nodes, node endpoints): for a hub whose tables are emptied under
        it, as the test harness does between tests. A serving hub never needs it: each memo expires
        by itself."""
        self.topics.invalidate()
        self.catalog.words.invalidate()
        self.applications.forget_memos()
        self.node_sender.forget()
        self.sharing.forget_memos()
        self.health.forget_memos()
        self.figures.forget()


class HubContext(SimpleNamespace):
    """Sanic's ``app.ctx`` (``Sanic[Config, HubContext]``): the hub's fields under the same names,
    so a route's ``request.app.ctx.applications`` has a type. A namespace, not the frozen hub:
    Sanic extensions keep their own state on ``app.ctx``, and tests swap a service for one test.
    Kept the twin of ``Hub`` by tests/unit/test_container.py."""

    hub: Hub
    settings: Settings
    redis: redis_adapter.RedisClients
    closing: AsyncExitStack
    clock: Clock
    vault: Vault
    tokens: TokenService
    nodes: NodeRegistry
    hub_node_key: HubKey
    node_client_factory: NodeClientFactory
    statement_signer: StatementSigner
    catalog: CatalogService
    regions: RegionService
    admin_accounts: AdminAccounts
    admin_sessions: AdminSessions
    topics: TopicService
    rate_limiter: TokenBucketLimiter
    identity: IdentityService
    delivery: DeliveryService
    node_sender: NodeSender
    notifications: NotificationService
    push: Push
    seals: SealService
    licenses: LicenseService
    presentations: PresentationService
    instant_approval: SoleProprietorInstantApproval
    applications: ApplicationService
    home: HomeService
    license_exchange: ExchangeService
    housing_fund: HousingFundService
    bundles: BundleService
    sharing: SharingService
    health: HealthService
    figures: FiguresService
    request_tally: RequestTally
    openapi_spec: dict | None = None  # /openapi.json, built on its first ask

    def attach(self, hub: Hub) -> None:
        self.hub = hub
        for field in fields(hub):
            setattr(self, field.name, getattr(hub, field.name))


async def build_hub(settings: Settings, *, serving: bool = False) -> Hub:
    """``serving``: for a process that answers requests, the only kind that may read from the
    replica (bff/common/read_routing.py); the scheduler and the CLI never do, so they neither
    connect to it nor probe it."""
    closing = AsyncExitStack()
    await database.connect(settings.database_url, replica_url=settings.database_replica_url if serving else "",
                           replica_max_lag=settings.database_replica_max_lag_ms / 1000)
    closing.push_async_callback(database.disconnect)
    redis = redis_adapter.connect(settings.redis_url)
    closing.push_async_callback(redis.close)
    try:
        await redis.check_kind()  # a plain URL on a cluster node, or the reverse, stops the start
        return await _build(settings, redis, closing)
    except BaseException:
        await closing.aclose()
        raise


async def close_hub(hub: Hub) -> None:
    """Closes HTTP pools, then Redis, then the database: the reverse of opening."""
    await hub.closing.aclose()


async def _build(settings: Settings, redis: redis_adapter.RedisClients, closing: AsyncExitStack) -> Hub:
    clock = Clock(settings.clock_offset)
    vault = Vault(data_key=base64.b64decode(settings.data_key), lookup_key=base64.b64decode(settings.lookup_key))
    tokens = TokenService(
        vault=vault, clock=clock, issuer=settings.issuer, access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl, overlap_seconds=settings.jwks_overlap_seconds,
        revocations=RedisSessionRevocations(redis.aio, turn=redis.turn))
    await tokens.ensure_key()
    # nodes (departments and provinces: signed requests); the hub signs as a node with one key
    hub_node_pem = Path(settings.node_key_path).read_bytes()
    nodes = NodeRegistry(clock, RedisNonceStore(redis.aio))
    statement_signer = StatementSigner(hub_node_pem)

    def node_client_factory(**options) -> SignedNodeClient:
        return SignedNodeClient(private_key_pem=hub_node_pem, now=clock.timestamp, **options)

    # search words: every process drops its dictionary when one changes (the topics' feed, its own channel)
    words = SearchWordService(clock=clock, feed=RedisChangeFeed(redis.aio, "catalog:search-words:changed"))
    catalog = CatalogService(popularity=RedisPopularityCounter(redis.aio, turn=redis.turn),
                             cache=RedisJsonCache(redis.aio), clock=clock, words=words)
    regions = RegionService(clock)
    passwords = Passwords()  # admin accounts and their console sessions
    topics = TopicService(clock=clock, feed=RedisChangeFeed(redis.aio))
    identity = _identity(settings, redis, clock, vault, tokens, closing)
    # the two ports of the module note, filled by the blocks below
    senders, listeners = Senders(), TransitionListeners()
    node_sender = NodeSender(nodes=nodes, client_factory=node_client_factory, now=clock.now)
    closing.push_async_callback(node_sender.aclose)
    delivery = _delivery(node_sender, clock, vault, senders)
    notifications, push = _notifications(settings, redis, clock, vault, delivery, identity, senders, closing)
    listeners.join(notifications)
    seals, licenses = _seals_and_licenses(clock, vault, identity)
    instant_approval = _instant_approval(settings, clock, identity, regions, seals, licenses)
    applications = ApplicationService(
        clock=clock, vault=vault, catalog=catalog, nodes=nodes, identity=identity, delivery=delivery,
        store=LocalMaterialStore(settings.storage_dir), upload_max_bytes=settings.upload_max_bytes,
        wallet=LicenseServiceWallet(licenses), approval=instant_approval, listeners=listeners,
        feed=RedisChangeFeed(redis.aio, "applications:open-changed"))
    housing_fund = _housing_fund(settings, redis, clock, vault, identity, nodes, applications,
                                 node_client_factory, statement_signer)
    bundles = BundleService(clock=clock, vault=vault, catalog=catalog, applications=applications,
                            identity=identity, licenses=licenses)
    listeners.join(bundles)  # a step's transition wakes its bundle
    sharing = _sharing(settings, redis, clock, vault, identity, nodes, hub_node_pem, closing)
    traffic = RedisTraffic(redis.aio)  # counted at request time, sent each second
    figures = FiguresService(clock=clock, vault=vault, traffic=traffic, identity=identity, applications=applications,
                             licenses=licenses, sharing=sharing, nodes=nodes)
    request_tally = RequestTally(figures)  # what each answered request leaves, handed over each second
    figures.hand_over_from(request_tally.hand_over)
    closing.push_async_callback(figures.flush)  # the last second's requests and counts, on closing
    return Hub(
        settings=settings, redis=redis, closing=closing, clock=clock, vault=vault, tokens=tokens, nodes=nodes,
        hub_node_key=hub_key(hub_node_pem), node_client_factory=node_client_factory,
        statement_signer=statement_signer, catalog=catalog, regions=regions,
        admin_accounts=AdminAccounts(clock=clock, passwords=passwords),
        admin_sessions=AdminSessions(clock=clock, passwords=passwords), topics=topics,
        rate_limiter=TokenBucketLimiter(redis.aio, turn=redis.turn), identity=identity, delivery=delivery,
        node_sender=node_sender, notifications=notifications, push=push, seals=seals, licenses=licenses,
        presentations=PresentationService(licenses=licenses, seals=seals, clock=clock),
        instant_approval=instant_approval, applications=applications,
        home=HomeService(topics=topics, catalog=catalog, clock=clock, open_items=applications.open_count),
        # an application that names a license as a material releases it to the handling node
        license_exchange=ExchangeService(licenses=licenses, nodes=nodes, applications=applications, clock=clock,
                                         uses=sharing),
        housing_fund=housing_fund, bundles=bundles, sharing=sharing,
        health=HealthService(clock=clock, vault=vault, seals=seals, identity=identity, sharing=sharing,
                             region_signer=HttpRegionSigner(nodes=nodes, client_factory=node_client_factory),
                             checker=VerifierChecker(), code_lifetime=timedelta(hours=settings.health_code_hours),
                             rule_lead=timedelta(hours=settings.health_rule_lead_hours)),
        figures=figures, request_tally=request_tally)


def _sharing(settings: Settings, redis: redis_adapter.RedisClients, clock: Clock, vault: Vault,
             identity: IdentityService, nodes: NodeRegistry, hub_node_pem: bytes,
             closing: AsyncExitStack) -> SharingService:
    """Data sharing: providers reached signed by the hub, quotas in Redis, the message log
    time-stamped by an RFC 3161 authority (docs/sharing.md)."""
    gateway = SignedProviderGateway(private_key_pem=hub_node_pem, now=clock.now,
                                    timeout_seconds=settings.sharing_provider_timeout_seconds)
    closing.push_async_callback(gateway.aclose)
    verifier = TsaVerifier(Path(settings.tsa_cert_path).read_bytes())
    stamper = TsaClient(url=settings.time_stamping_url, verifier=verifier)  # a token is checked as it comes
    closing.push_async_callback(stamper.aclose)
    return SharingService(clock=clock, vault=vault, identity=identity, nodes=nodes, gateway=gateway,
                          quota=TokenBucketLimiter(redis.aio, turn=redis.turn), stamper=stamper,
                          verifier=verifier,
                          max_unstamped=timedelta(seconds=settings.sharing_max_unstamped_seconds))


def _identity(settings: Settings, redis: redis_adapter.RedisClients, clock: Clock, vault: Vault,
              tokens: TokenService, closing: AsyncExitStack) -> IdentityService:
    """People, channel logins, real name and face."""
    wechat = WeChatLoginClient(base_url=settings.wechat_url, appid=settings.wechat_appid,
                               secret=settings.wechat_secret, session_storage=RedisSessionStorage(redis.sync))
    alipay = _alipay(settings, AlipayLoginClient, closing)
    sms = HttpSmsSender(base_url=settings.sms_url)
    closing.push_async_callback(sms.aclose)
    return IdentityService(vault=vault, clock=clock, tokens=tokens, wechat=wechat, alipay=alipay, sms=sms,
                           realname=_realname_verifier(settings), face=_face_verifier(settings))


def _alipay(settings: Settings, kind: type[Alipay], closing: AsyncExitStack) -> Alipay:
    """An Alipay gateway client (identity's logins, notifications' template messages)."""
    client = kind(gateway_url=settings.alipay_url, app_id=settings.alipay_app_id,
                  app_private_key_pem=Path(settings.alipay_app_private_key_path).read_bytes(),
                  alipay_public_key_pem=Path(settings.alipay_public_key_path).read_bytes())
    closing.push_async_callback(client.aclose)
    return client


def _realname_verifier(settings: Settings) -> StubRealNameVerifier:
    if settings.realname_provider == "stub":
        return StubRealNameVerifier(register=load_register(settings.stub_register_file))
    raise SettingsError(f"unknown GOVHUB_REALNAME_PROVIDER {settings.realname_provider!r}")


def _face_verifier(settings: Settings) -> StubFaceVerifier:
    if settings.face_provider == "stub":
        return StubFaceVerifier()
    raise SettingsError(f"unknown GOVHUB_FACE_PROVIDER {settings.face_provider!r}")


def _delivery(node_sender: NodeSender, clock: Clock, vault: Vault, senders: Senders) -> DeliveryService:
    """The outbox and its relay: deliveries to nodes here; a kind without a sender is parked by
    the relay, never dropped."""
    senders.join({kind: node_sender for kind in NODE_KINDS})
    return DeliveryService(clock=clock, vault=vault, senders=senders)


def _notifications(settings: Settings, redis: redis_adapter.RedisClients, clock: Clock, vault: Vault,
                   delivery: DeliveryService, identity: IdentityService, senders: Senders,
                   closing: AsyncExitStack) -> tuple[NotificationService, Push]:
    """Every status change tells the notification service (in its transaction); the relay sends
    the ``notify.*`` deliveries through these channel clients (docs/notifications.md). How a
    person is reached (channel accounts, phone) is identity's answer: it is the Recipients port."""
    templates = Templates(wechat=Template(settings.wechat_template_id, settings.template_long_term),
                          alipay=Template(settings.alipay_template_id, settings.template_long_term))
    notifications = NotificationService(clock=clock, vault=vault, delivery=delivery, recipients=identity,
                                        templates=templates)
    push = PushNotConfigured() if settings.is_production else RecordingPushStub()
    wechat = WeChatSubscribeMessages(base_url=settings.wechat_url, appid=settings.wechat_appid,
                                     secret=settings.wechat_secret, session_storage=RedisSessionStorage(redis.sync))
    sms = HttpSmsNotifier(base_url=settings.sms_url)
    closing.push_async_callback(sms.aclose)
    alipay = _alipay(settings, AlipayTemplateMessages, closing)
    senders.join(notification_senders(notifications, wechat=wechat, alipay=alipay, push=push, sms=sms,
                                      recipients=identity))
    return notifications, push


def _seals_and_licenses(clock: Clock, vault: Vault, identity: IdentityService) -> tuple[SealService, LicenseService]:
    # a seal is bound to license types its department kind issues: the catalog says which
    seals = SealService(vault=vault, clock=clock, license_types=CatalogLicenseTypes())
    return seals, LicenseService(vault=vault, clock=clock, seals=seals, holders=IdentityHolders(identity))


def _instant_approval(settings: Settings, clock: Clock, identity: IdentityService, regions: RegionService,
                      seals: SealService, licenses: LicenseService) -> SoleProprietorInstantApproval:
    """秒批 of sole-proprietor registration, consulted by every submit (docs/instant-approval.md).
    The credit system is the offline stub in development; production has no credit client yet, so
    every registration there goes to an examiner (never a silent approval)."""
    credit = CreditNotConfigured() if settings.is_production else StubCreditRecords()
    return SoleProprietorInstantApproval(clock=clock, identity=identity, regions=regions, seals=seals,
                                         licenses=licenses, credit=credit)


def _housing_fund(settings: Settings, redis: redis_adapter.RedisClients, clock: Clock, vault: Vault,
                  identity: IdentityService, nodes: NodeRegistry, applications: ApplicationService,
                  node_client_factory: NodeClientFactory, signer: StatementSigner) -> HousingFundService:
    """Accounts, withdrawals (applications of their own matters) and payouts."""
    return HousingFundService(
        clock=clock, vault=vault, identity=identity, nodes=nodes, applications=applications,
        wallet=applications.materials.wallet,
        centres=HttpFundCentres(nodes=nodes, client_factory=node_client_factory),
        # no card-verification client exists for production yet: there every check is "unavailable"
        cards=BankCardsNotConfigured() if settings.is_production else StubBankCards(),
        signer=signer, cache=RedisJsonCache(redis.aio, prefix="govhub:fund:"))
