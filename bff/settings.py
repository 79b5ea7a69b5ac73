"""Settings from ``GOVHUB_*`` environment variables.

The defaults run the embedded hub with nothing installed: a SQLite file, an in-process Redis
substitute, the miniprogram_mock servers and dev keys. Production mode (``GOVHUB_ENV=production``)
refuses every one of those: see ``Settings.check_production``.
"""
from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEVKEYS = ROOT / "devkeys"

# Dev-only secrets: fixed so that an embedded hub keeps its data readable across restarts.
DEV_DATA_KEY = base64.b64encode(hashlib.sha256(b"govhub dev data key").digest()).decode()
DEV_LOOKUP_KEY = base64.b64encode(hashlib.sha256(b"govhub dev lookup key").digest()).decode()


class SettingsError(RuntimeError):
    """The hub refuses to start with these settings."""


@dataclass(frozen=True)
class Settings:
    env: str = "dev"  # dev | test | production
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    # SIGTERM to the last process gone (docs/operations.md): requests in flight get all but ~3 s of
    # it; below an orchestrator's kill (Kubernetes waits 30 s by default)
    shutdown_seconds: int = 25
    public_url: str = ""  # the issuer of tokens; defaults to http://host:port
    database_url: str = f"sqlite://{ROOT / 'var' / 'govhub.sqlite3'}"
    # a streaming replica of that PostgreSQL for public reads (docs/read-replica.md); empty: none.
    # It is used only while at most max_lag_ms behind; a person who wrote reads the primary for longer.
    database_replica_url: str = ""
    database_replica_max_lag_ms: int = 2000
    redis_url: str = ""  # empty: in-process fakeredis (one worker only)
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    # seconds every clock of the hub runs ahead of the wall clock (negative: behind); for running the
    # suite and demos at a chosen date (a month end, a year end). Never in production.
    clock_offset: int = 0

    # keys for personal data: AES-256-GCM at rest, HMAC-SHA256 for lookups (base64, 32 bytes)
    data_key: str = DEV_DATA_KEY
    lookup_key: str = DEV_LOOKUP_KEY

    # the mock WeChat/Alipay/SMS servers (embedded default) or the real platforms
    mock_enabled: bool = True
    mock_host: str = "127.0.0.1"
    mock_port: int = 8001
    stub_port: int = 8002  # the department stub `govhub run` starts (adapters/departments/stub)
    wechat_base_url: str = ""
    wechat_appid: str = "wxdev0000000000001"
    wechat_secret: str = "dev-wechat-secret"
    alipay_gateway_url: str = ""
    alipay_app_id: str = "2021000000000001"
    alipay_app_private_key_path: str = str(DEVKEYS / "alipay_app_private.pem")
    alipay_public_key_path: str = str(DEVKEYS / "alipay_platform_public.pem")
    sms_base_url: str = ""
    # the message templates registered on each mini-program platform (办件进度通知); dev ids here
    wechat_template_id: str = "TMPL-GOVHUB-APPLICATION-PROGRESS-DEV"
    alipay_template_id: str = "ALIPAY-TMPL-GOVHUB-APPLICATION-PROGRESS-DEV"
    template_long_term: bool = False  # a long-term subscription (public-service category): never used up

    # public-security and face verification: "stub" runs offline with documented test identities
    realname_provider: str = "stub"
    face_provider: str = "stub"
    stub_register_file: str = ""  # CSV id_number,name added to the stub's register (benchmarks' citizens)

    # tokens
    access_token_ttl: int = 900
    refresh_token_ttl: int = 30 * 24 * 3600
    jwks_overlap_seconds: int = 24 * 3600
    # the hub's own node key for signing calls to departments and provinces (PEM, P-256)
    node_key_path: str = str(DEVKEYS / "hub_node_private.pem")

    scheduler_enabled: bool = True
    # how often the relay hands the outbox to departments, and bundles move to their next steps:
    # what a citizen's submission waits at most before it leaves the hub
    relay_interval_seconds: int = 5
    bundle_interval_seconds: int = 2
    seed_demo: bool = True

    # data sharing (docs/sharing.md): a provider slower than this is a 504; the message log's
    # time-stamping authority (RFC 3161; empty: the department stub's, offline) and its certificate;
    # records waiting longer than max_unstamped for a timestamp stop the exchange (fail closed)
    sharing_provider_timeout_seconds: int = 10
    sharing_stamp_interval_seconds: int = 5
    sharing_max_unstamped_seconds: int = 300
    tsa_url: str = ""
    tsa_cert_path: str = str(DEVKEYS / "tsa_cert.pem")

    # health codes (docs/health-codes.md): how long a code lives; how long before it applies a new
    # checkpoint rule must be published (the EU gateway's 48 hours: every verifier must hold it first)
    health_code_hours: int = 24
    health_rule_lead_hours: int = 48

    # applications (uploaded materials)
    storage_dir: str = str(ROOT / "var" / "materials")  # the local-directory material store
    # an upload's limit; a request is also bounded by max_body_bytes (the whole multipart body)
    upload_max_bytes: int = 10 * 1024 * 1024

    # /metrics for Prometheus (docs/configuration.md): operators only, by a bearer token or by the
    # scraper's address in these comma-separated networks (CIDR). An empty token admits by address only.
    metrics_token: str = ""
    metrics_networks: str = "127.0.0.1/32,::1/128"

    # how long `govhub serve` lets its workers take to start before it gives up (Sanic's own is 30 s:
    # a worker imports the whole hub, ~4 s of CPU, and on a busy small host that took over 30 s)
    worker_start_seconds: int = 120

    # browser pages on other origins that may call the API (CORS), comma-separated
    # (https://h5.example.gov.cn). Empty: none — mini-programs and the app are not browsers, and the
    # console is served from the hub's own origin (docs/configuration.md).
    cors_origins: str = ""

    extra: dict = field(default_factory=dict)

    @property
    def issuer(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def mock_url(self) -> str:
        return f"http://{self.mock_host}:{self.mock_port}"

    @property
    def wechat_url(self) -> str:
        return self.wechat_base_url or f"{self.mock_url}/wechat/"

    @property
    def alipay_url(self) -> str:
        return self.alipay_gateway_url or f"{self.mock_url}/alipay/gateway.do"

    @property
    def sms_url(self) -> str:
        return self.sms_base_url or f"{self.mock_url}/_mock/sms"

    @property
    def time_stamping_url(self) -> str:
        return self.tsa_url or f"http://{self.mock_host}:{self.stub_port}/tsa"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"GOVHUB_{f.name.upper()}")
            if raw is None or f.name == "extra":
                continue
            values[f.name] = _convert(f.type, raw, f.name)
        values.update(overrides)
        settings = cls(**values)
        metrics_networks(settings.metrics_networks)  # a mistyped network list stops the start, in any mode
        check_redis_url(settings.redis_url)  # so does a Redis URL of no known form (a cluster's included)
        if settings.is_production:
            settings.check_production()
        return settings

    def check_production(self) -> None:
        """Refuse embedded parts and dev keys: a national hub must never run on them."""
        problems = []
        if self.database_url.startswith("sqlite"):
            problems.append("GOVHUB_DATABASE_URL must name PostgreSQL, not SQLite")
        if not self.redis_url:
            problems.append("GOVHUB_REDIS_URL must name a real Redis")
        if self.mock_enabled:
            problems.append("GOVHUB_MOCK_ENABLED must be false")
        if self.data_key == DEV_DATA_KEY or self.lookup_key == DEV_LOOKUP_KEY:
            problems.append("GOVHUB_DATA_KEY and GOVHUB_LOOKUP_KEY must be set to production keys")
        if self.wechat_secret == "dev-wechat-secret" or not self.wechat_base_url:
            problems.append("WeChat must be configured (GOVHUB_WECHAT_BASE_URL, GOVHUB_WECHAT_SECRET)")
        if not self.tsa_url:
            problems.append("GOVHUB_TSA_URL must name the time-stamping authority of the message log")
        if not self.alipay_gateway_url or not self.sms_base_url:
            problems.append("GOVHUB_ALIPAY_GATEWAY_URL and GOVHUB_SMS_BASE_URL must be set")
        if self.wechat_template_id.endswith("-DEV") or self.alipay_template_id.endswith("-DEV"):
            problems.append("GOVHUB_WECHAT_TEMPLATE_ID and GOVHUB_ALIPAY_TEMPLATE_ID must name registered templates")
        dev_keys = {p.read_bytes() for p in DEVKEYS.glob("*.pem")}
        for path in (self.alipay_app_private_key_path, self.alipay_public_key_path, self.node_key_path,
                     self.tsa_cert_path):
            key = Path(path)
            # by content, not by folder: a dev key copied elsewhere is still a dev key
            if key.resolve().parent == DEVKEYS.resolve() or (key.is_file() and key.read_bytes() in dev_keys):
                problems.append(f"dev key {key.name} must not be used in production")
        if self.realname_provider == "stub" or self.face_provider == "stub":
            problems.append("stub public-security or face providers must not be used in production")
        if not self.public_url.startswith("https://"):
            problems.append("GOVHUB_PUBLIC_URL must be an https URL")
        for key in (self.data_key, self.lookup_key):
            if len(base64.b64decode(key)) != 32:
                problems.append("data and lookup keys must be 32 bytes, base64")
        if self.clock_offset:
            problems.append("GOVHUB_CLOCK_OFFSET must not be set: production runs on the real time")
        if self.metrics_token and len(self.metrics_token) < 32:  # empty is fine: the network list gates
            problems.append("GOVHUB_METRICS_TOKEN must be at least 32 characters (or empty: networks only)")
        if any(network.prefixlen == 0 for network in metrics_networks(self.metrics_networks)):
            problems.append("GOVHUB_METRICS_NETWORKS must not admit every address")
        if "*" in self.cors_origins:
            problems.append("GOVHUB_CORS_ORIGINS must name origins, not admit every one (*)")
        if problems:
            raise SettingsError("production mode refuses to start: " + "; ".join(problems))


def metrics_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """``GOVHUB_METRICS_NETWORKS``: "10.8.0.0/16, ::1/128" (a bare address is its own /32 or /128)."""
    try:
        parts = [part.strip() for part in text.split(",") if part.strip()]
        return tuple(ipaddress.ip_network(part, strict=False) for part in parts)
    except ValueError as exc:
        raise SettingsError(f"GOVHUB_METRICS_NETWORKS: {exc}") from exc


REDIS_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


def check_redis_url(url: str) -> None:
    """``GOVHUB_REDIS_URL``'s form (docs/redis-cluster.md); adapters/cache/redis.py reads the rest."""
    if not url:
        return
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        raise SettingsError(f"GOVHUB_REDIS_URL: the scheme must be one of {', '.join(REDIS_SCHEMES)}, not "
                            f"{parts.scheme!r} (a Redis Cluster: redis+cluster://host:port[,host:port...])")
    if parts.scheme.endswith("+cluster"):
        if not parts.netloc.rpartition("@")[2].strip(","):
            raise SettingsError("GOVHUB_REDIS_URL: a Redis Cluster URL lists its nodes, "
                                "redis+cluster://host:port[,host:port...]")
        if parts.path.strip("/") not in ("", "0"):
            raise SettingsError(f"GOVHUB_REDIS_URL: a Redis Cluster has only database 0, "
                                f"not {parts.path.strip('/')!r}")


def _convert(kind, raw: str, name: str):
    kind = kind if isinstance(kind, str) else kind.__name__
    try:
        if kind == "int":
            return int(raw)
        if kind == "bool":
            if raw.lower() not in {"1", "0", "true", "false", "yes", "no", "on", "off"}:
                raise ValueError(raw)
            return raw.lower() in {"1", "true", "yes", "on"}
        return raw
    except ValueError as exc:
        raise SettingsError(f"GOVHUB_{name.upper()}: cannot read {raw!r} as {kind}") from exc
