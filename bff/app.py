"""The composition root: the only module that imports adapters.

``create_app(settings)`` builds the adapters, hands them to the domain services, registers the
blueprints, listeners and error handlers. Tests pass ``resources`` already built so that one
database and one Redis serve a whole test session.
"""
from __future__ import annotations

import base64
import logging
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sanic import Request, Sanic
from sanic.exceptions import PayloadTooLarge
from sanic_ext import Extend

from adapters.alipay.client import AlipayLoginClient
from adapters.cache import redis as redis_adapter
from adapters.cache.catalog import RedisJsonCache, RedisPopularityCounter
from adapters.cache.ratelimit import TokenBucketLimiter
from adapters.departments.public_security import StubRealNameVerifier, load_register
from adapters.face.stub import StubFaceVerifier
from adapters.scheduler import runner as scheduler
from adapters.scheduler.runner import Job
from adapters.sms.client import HttpSmsSender
from adapters.wechat.client import WeChatLoginClient
from adapters.wechat.storage import RedisSessionStorage
from domain.catalog.service import CatalogService
from domain.home.service import HomeService
from domain.identity.service import IdentityService
from domain.shared.clock import Clock
from domain.shared.vault import Vault
from bff import channel_blueprints, database
from bff.common import errors, jsonio, logs, openapi, paths
from bff.public import health, regions
from bff.settings import Settings, SettingsError

log = logging.getLogger("govhub.access")


@dataclass
class Resources:
    """What a running hub holds: connections and the domain services built on them."""

    settings: Settings
    redis: redis_adapter.RedisClients
    services: dict[str, Any] = field(default_factory=dict)


async def build_resources(settings: Settings) -> Resources:
    await database.connect(settings.database_url)
    resources = Resources(settings=settings, redis=redis_adapter.connect(settings.redis_url))
    clock = Clock(settings.clock_offset)
    vault = Vault(data_key=base64.b64decode(settings.data_key), lookup_key=base64.b64decode(settings.lookup_key))
    resources.services.update(clock=clock, vault=vault)
    # tokens (access/refresh tokens, signing keys)
    from adapters.cache.revocations import RedisSessionRevocations  # local: see the nodes block
    from domain.identity.tokens import TokenService

    tokens = TokenService(
        vault=vault, clock=clock, issuer=settings.issuer, access_ttl=settings.access_token_ttl,
        refresh_ttl=settings.refresh_token_ttl, overlap_seconds=settings.jwks_overlap_seconds,
        revocations=RedisSessionRevocations(resources.redis.aio))
    await tokens.ensure_key()
    resources.services["tokens"] = tokens
    # nodes (departments and provinces: signed requests)
    # Imported here, not at the top, so that this block is the whole of the nodes wiring. (Only
    # names no other block uses: a local name shadows a module-level one in the whole function.)
    from adapters.cache.nonces import RedisNonceStore
    from adapters.departments.node_client import SignedNodeClient
    from domain.nodes.service import NodeRegistry, hub_key
    from domain.nodes.statements import StatementSigner

    with open(settings.node_key_path, "rb") as key_file:
        hub_node_pem = key_file.read()
    resources.services.update(
        nodes=NodeRegistry(clock, RedisNonceStore(resources.redis.aio)),
        hub_node_key=hub_key(hub_node_pem),
        # node_client_factory(base_url=...) -> a SignedNodeClient signing as the hub ("govhub")
        node_client_factory=lambda **options: SignedNodeClient(private_key_pem=hub_node_pem, now=clock.timestamp,
                                                                **options),
        # statements the hub vouches for, with the same key (a fund centre's payout instruction)
        statement_signer=StatementSigner(hub_node_pem),
    )
    # catalog (matters, search, popularity)
    resources.services["catalog"] = CatalogService(popularity=RedisPopularityCounter(resources.redis.aio),
                                                   cache=RedisJsonCache(resources.redis.aio), clock=clock)
    # regions (divisions, departments, zones)
    from domain.regions.service import RegionService  # local: see the nodes block

    resources.services["regions"] = RegionService(clock)
    # topics (admin accounts and audit, service topics and their change feed)
    from adapters.cache.pubsub import RedisChangeFeed  # local: see the nodes block
    from domain.admin.passwords import Passwords
    from domain.admin.service import AdminAccounts
    from domain.admin.sessions import AdminSessions
    from domain.topics.service import TopicService

    passwords = Passwords()
    resources.services.update(
        admin_accounts=AdminAccounts(clock=clock, passwords=passwords),
        admin_sessions=AdminSessions(clock=clock, passwords=passwords),
        topics=TopicService(clock=clock, feed=RedisChangeFeed(resources.redis.aio)),
    )
    # home (one call per channel's home page)
    resources.services["home"] = HomeService(topics=resources.services["topics"],
                                             catalog=resources.services["catalog"], clock=clock)
    # identity (people, channel logins, real-name, face)
    resources.services["rate_limiter"] = TokenBucketLimiter(resources.redis.aio)
    resources.services["identity"] = _identity_service(settings, resources, clock, vault)
    # delivery (outbox and relay to nodes and notification channels)
    from adapters.departments.node_sender import NodeSender  # local: see the nodes block
    from domain.delivery.rules import NODE_KINDS
    from domain.delivery.service import DeliveryService

    node_sender = NodeSender(nodes=resources.services["nodes"],
                             client_factory=resources.services["node_client_factory"], now=clock.now)
    # senders: kind -> Sender; a kind without one is parked by the relay, never dropped. The
    # notification senders join this dict: resources.services["delivery"].senders[kind] = sender
    resources.services["delivery"] = DeliveryService(clock=clock, vault=resources.services["vault"],
                                                     senders={kind: node_sender for kind in NODE_KINDS})
    # applications (submission, state machine, instant approval)
    from adapters.storage.local import LocalMaterialStore  # local: see the nodes block
    from domain.applications.service import ApplicationService

    applications = ApplicationService(
        clock=clock, vault=vault, catalog=resources.services["catalog"], nodes=resources.services["nodes"],
        identity=resources.services["identity"], delivery=resources.services["delivery"],
        store=LocalMaterialStore(settings.storage_dir), upload_max_bytes=settings.upload_max_bytes)
    # seams: the e-license wallet is plugged in after the licenses block (below); instant
    # approval: applications.use_approval(...); notifications: applications.add_listener(...)
    resources.services["applications"] = applications
    resources.services["home"].count_open_items_with(applications.open_count)
    # seals and licenses (registry, wallet, presentations, exchange)
    from domain.licenses.catalog import CatalogLicenseTypes  # local: see the nodes block
    from domain.licenses.exchange import ExchangeService
    from domain.licenses.holders import IdentityHolders
    from domain.licenses.presentations import PresentationService
    from domain.licenses.service import LicenseService
    from domain.seals.service import SealService

    # a seal is bound to license types its department kind issues: the catalog says which
    seals = SealService(vault=vault, clock=clock, license_types=CatalogLicenseTypes())
    licenses = LicenseService(vault=vault, clock=clock, seals=seals,
                              holders=IdentityHolders(resources.services["identity"]))
    resources.services.update(
        seals=seals, licenses=licenses,
        presentations=PresentationService(licenses=licenses, seals=seals, clock=clock),
        # an application that names a license as a material releases it to the handling node
        license_exchange=ExchangeService(licenses=licenses, nodes=resources.services["nodes"],
                                         applications=resources.services["applications"], clock=clock),
    )
    # applications: e-licenses as materials (after the licenses block builds the wallet)
    from domain.applications.wallet import LicenseServiceWallet  # local: see the nodes block

    resources.services["applications"].use_wallet(LicenseServiceWallet(resources.services["licenses"]))
    # instant approval and notifications (docs/instant-approval.md, docs/notifications.md)
    _wire_instant_approval(settings, resources, clock)
    # housing fund (accounts, withdrawals, payouts)
    from adapters.departments.bank_card_stub import BankCardsNotConfigured, StubBankCards  # local: see the nodes block
    from adapters.departments.fund_centre_client import HttpFundCentres
    from domain.housing_fund.service import HousingFundService

    services = resources.services
    services["housing_fund"] = HousingFundService(
        clock=clock, vault=vault, identity=services["identity"], nodes=services["nodes"],
        applications=services["applications"], wallet=services["applications"].materials.wallet,
        centres=HttpFundCentres(nodes=services["nodes"], client_factory=services["node_client_factory"]),
        # no card-verification client exists for production yet: there every check is "unavailable"
        cards=BankCardsNotConfigured() if settings.is_production else StubBankCards(),
        signer=services["statement_signer"], cache=RedisJsonCache(resources.redis.aio, prefix="govhub:fund:"))
    # bundles (one-thing bundles across departments)
    from domain.bundles.service import BundleService  # local: see the nodes block

    bundles = BundleService(clock=clock, vault=vault, catalog=resources.services["catalog"],
                            applications=resources.services["applications"],
                            identity=resources.services["identity"], licenses=resources.services["licenses"])
    resources.services["bundles"] = bundles
    resources.services["applications"].add_listener(bundles)  # a step's transition wakes its bundle
    return resources


# instant approval and notifications: wiring
def _wire_instant_approval(settings: Settings, resources: Resources, clock: Clock) -> None:
    """秒批 of sole-proprietor registration: the step submit consults (domain/applications/instant_step.py).
    The credit system is the offline stub in development; production has no credit client yet, so
    every registration there goes to an examiner (never a silent approval)."""
    from adapters.departments.credit_stub import CreditNotConfigured, StubCreditRecords
    from domain.applications.instant_step import SoleProprietorInstantApproval

    services = resources.services
    credit = CreditNotConfigured() if settings.is_production else StubCreditRecords()
    services["instant_approval"] = SoleProprietorInstantApproval(
        clock=clock, identity=services["identity"], regions=services["regions"], seals=services["seals"],
        licenses=services["licenses"], credit=credit)
    services["applications"].use_approval(services["instant_approval"])
    _wire_notifications(settings, resources, clock)


def _wire_notifications(settings: Settings, resources: Resources, clock: Clock) -> None:
    """Every status change tells the notification service (in its transaction); the relay sends the
    ``notify.*`` deliveries through these channel clients (docs/notifications.md)."""
    from adapters.notify.alipay import AlipayTemplateMessages
    from adapters.notify.push import PushNotConfigured, RecordingPushStub
    from adapters.notify.sms import HttpSmsNotifier
    from adapters.notify.wechat import WeChatSubscribeMessages
    from domain.notifications.senders import senders
    from domain.notifications.service import NotificationService, Template, Templates

    services = resources.services
    recipients = services["identity"]  # IdentityService is the Recipients port (channel accounts, phone)
    templates = Templates(wechat=Template(settings.wechat_template_id, settings.template_long_term),
                          alipay=Template(settings.alipay_template_id, settings.template_long_term))
    notifications = NotificationService(clock=clock, vault=services["vault"], delivery=services["delivery"],
                                        recipients=recipients, templates=templates)
    services.update(notifications=notifications,
                    push=PushNotConfigured() if settings.is_production else RecordingPushStub())
    services["applications"].add_listener(notifications)
    wechat = WeChatSubscribeMessages(base_url=settings.wechat_url, appid=settings.wechat_appid,
                                     secret=settings.wechat_secret,
                                     session_storage=RedisSessionStorage(resources.redis.sync))
    alipay = AlipayTemplateMessages(gateway_url=settings.alipay_url, app_id=settings.alipay_app_id,
                                    app_private_key_pem=Path(settings.alipay_app_private_key_path).read_bytes(),
                                    alipay_public_key_pem=Path(settings.alipay_public_key_path).read_bytes())
    services["delivery"].senders.update(senders(
        notifications, wechat=wechat, alipay=alipay, push=services["push"],
        sms=HttpSmsNotifier(base_url=settings.sms_url), recipients=recipients))


def _identity_service(settings: Settings, resources: Resources, clock: Clock, vault: Vault) -> IdentityService:
    wechat = WeChatLoginClient(base_url=settings.wechat_url, appid=settings.wechat_appid,
                               secret=settings.wechat_secret,
                               session_storage=RedisSessionStorage(resources.redis.sync))
    alipay = AlipayLoginClient(gateway_url=settings.alipay_url, app_id=settings.alipay_app_id,
                               app_private_key_pem=Path(settings.alipay_app_private_key_path).read_bytes(),
                               alipay_public_key_pem=Path(settings.alipay_public_key_path).read_bytes())
    return IdentityService(vault=vault, clock=clock, tokens=resources.services["tokens"], wechat=wechat,
                           alipay=alipay, sms=HttpSmsSender(base_url=settings.sms_url),
                           realname=_realname_verifier(settings), face=_face_verifier(settings))


def _realname_verifier(settings: Settings):
    if settings.realname_provider == "stub":
        return StubRealNameVerifier(register=load_register(settings.stub_register_file))
    raise SettingsError(f"unknown GOVHUB_REALNAME_PROVIDER {settings.realname_provider!r}")


def _face_verifier(settings: Settings):
    if settings.face_provider == "stub":
        return StubFaceVerifier()
    raise SettingsError(f"unknown GOVHUB_FACE_PROVIDER {settings.face_provider!r}")


async def close_resources(resources: Resources) -> None:
    delivery = resources.services.get("delivery")
    for sender in {*delivery.senders.values()} if delivery else ():
        if hasattr(sender, "aclose"):  # HTTP connection pools
            await sender.aclose()
    await resources.redis.close()
    await database.disconnect()


def create_app(settings: Settings, *, resources: Resources | None = None, name: str = "govhub") -> Sanic:
    logs.configure(settings.log_level)
    app = Sanic(name, configure_logging=False, request_class=HubRequest, dumps=jsonio.dumps)
    app.config.REQUEST_MAX_SIZE = settings.max_body_bytes
    app.config.ACCESS_LOG = False
    app.config.FALLBACK_ERROR_FORMAT = "json"
    app.config.OAS_URL_PREFIX = "/docs"
    app.config.OAS_UI_DEFAULT = "redoc"
    app.config.OAS_UI_SWAGGER = True
    Extend(app, openapi_config={})
    app.ext.openapi.describe(
        "govhub — 国家政务服务平台 hub API",
        version="0.1.0",
        description=("Citizen channels (/wx/v1, /alipay/v1, /app/v1), product teams (/admin/v1), "
                     "departments and provinces (/gov/v1). Errors are application/problem+json "
                     "with a stable `code`."),
    )
    app.ext.openapi.add_security_scheme("bearer", "http", scheme="bearer", bearer_format="JWT")
    app.ctx.settings = settings
    errors.install(app)
    paths.install(app)  # before any blueprint: their paths name these shapes
    _install_request_context(app)
    _install_lifecycle(app, settings, resources)
    app.blueprint(health.bp)
    # blueprints: tokens/oidc
    from bff.public import oidc  # here, not at the top: this line is the whole of the oidc wiring

    app.blueprint(oidc.bp)
    # blueprints: nodes/gov
    from bff.gov import install as install_gov  # here, not at the top: see the nodes block above

    install_gov(app)
    # blueprints: channels
    for channel_bp in channel_blueprints.blueprints():
        app.blueprint(channel_bp)
    # blueprints: admin (/admin/v1) and public topics
    from bff.admin import install as install_admin  # here, not at the top: see the nodes block
    from bff.public import topics as public_topics

    install_admin(app)
    app.blueprint(public_topics.bp)
    _follow_topic_changes(app)
    # blueprints: seals and licenses
    from bff.public import verify as public_verify  # here, not at the top: see the nodes block

    app.blueprint(public_verify.bp)
    # blueprints: housing fund
    from bff.gov.housing_fund import bp as gov_housing_fund  # here, not at the top: see the nodes block

    app.blueprint(gov_housing_fund)
    app.blueprint(regions.bp)
    app.add_route(_openapi_json, "/openapi.json", name="openapi_json", ctx_public=True)
    return app


JOBS = [
    Job("adapters.scheduler.jobs:purge_identity", seconds=3600),
    Job("adapters.scheduler.jobs:flush_popularity", seconds=60),
    Job("adapters.scheduler.jobs:announce_topic_boundaries", seconds=5),
    # jobs: delivery
    Job("adapters.scheduler.jobs:relay_deliveries", seconds=5),
    Job("adapters.scheduler.jobs:delivery_daily_summary", seconds=3600),  # takes one a day
    # jobs: applications
    Job("adapters.scheduler.jobs:flag_overdue_applications", seconds=600),
    Job("adapters.scheduler.jobs:purge_unused_uploads", seconds=3600),
    Job("adapters.scheduler.jobs:purge_consent_reports", seconds=3600),
    # jobs: bundles
    Job("adapters.scheduler.jobs:advance_bundles", seconds=2),
    Job("adapters.scheduler.jobs:flag_stuck_bundles", seconds=600),
]


def scheduler_process(settings: Settings) -> None:
    """The scheduler's own process (one per host, started by Sanic's manager)."""
    import asyncio

    async def main() -> None:
        resources = await build_resources(settings)
        try:
            await scheduler.serve_forever(JOBS, resources, resources.redis.aio)
        finally:
            await close_resources(resources)

    asyncio.run(main())


def _install_lifecycle(app: Sanic, settings: Settings, resources: Resources | None) -> None:
    if resources is not None:
        _attach(app, resources)
        return

    if settings.scheduler_enabled:
        @app.main_process_ready
        async def start_scheduler(app: Sanic) -> None:
            app.manager.manage("scheduler", scheduler_process, {"settings": settings})

    @app.before_server_start
    async def start(app: Sanic) -> None:
        _attach(app, await build_resources(settings))

    @app.after_server_stop
    async def stop(app: Sanic) -> None:
        await close_resources(app.ctx.resources)


# listeners: topics
def _follow_topic_changes(app: Sanic) -> None:
    """Each serving process follows the topics change feed for as long as it serves: its
    in-memory topic lists are trusted only while the subscription holds (domain/topics/cache.py)."""
    import asyncio
    import contextlib

    @app.after_server_start
    async def follow_topics(app: Sanic) -> None:
        app.ctx.topics_feed = asyncio.create_task(app.ctx.topics.follow_changes(), name="topics-feed")

    @app.before_server_stop
    async def unfollow_topics(app: Sanic) -> None:
        task = getattr(app.ctx, "topics_feed", None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _attach(app: Sanic, resources: Resources) -> None:
    app.ctx.resources = resources
    app.ctx.redis = resources.redis
    for name, service in resources.services.items():
        setattr(app.ctx, name, service)


def _install_request_context(app: Sanic) -> None:
    @app.on_request(priority=100)
    async def begin(request: Request) -> None:
        request.ctx.started = time.perf_counter()
        logs.request_id_var.set(str(request.id))
        # Sanic's own server enforces REQUEST_MAX_SIZE while reading; under ASGI it does not.
        # A streaming route that reads and limits its own body (uploads) is exempt.
        if getattr(request.route.ctx, "own_body_limit", False) if request.route else False:
            return
        declared = request.headers.get("content-length", "")
        too_big = declared.isdigit() and int(declared) > app.config.REQUEST_MAX_SIZE
        if too_big or len(request.body or b"") > app.config.REQUEST_MAX_SIZE:
            raise PayloadTooLarge("提交的内容过大")

    @app.on_response(priority=100)
    async def end(request: Request, response) -> None:
        response.headers["X-Request-Id"] = str(request.id)
        started = getattr(request.ctx, "started", None)
        duration = round((time.perf_counter() - started) * 1000, 2) if started else None
        log.info("%s %s %s", request.method, request.path, response.status,
                 extra={"method": request.method, "path": request.path, "status": response.status,
                        "duration_ms": duration})


class HubRequest(Request):
    """Keeps a caller's X-Request-Id only if it is sane (tracing across nodes); Sanic would take
    any header value as is, and it ends up in every log line."""

    @property
    def id(self):  # type: ignore[override]
        if not self._id:
            given = self.headers.get("X-Request-Id", "")
            sane = 8 <= len(given) <= 64 and given.replace("-", "").isalnum()
            self._id = given if sane else uuid.uuid4().hex
        return self._id


async def _openapi_json(request: Request):
    from sanic.response import json

    spec = getattr(request.app.ctx, "openapi_spec", None)
    if spec is None:
        spec = request.app.ctx.openapi_spec = openapi.build(request.app)
    return json(spec)
