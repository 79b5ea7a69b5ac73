"""Database wiring: Tortoise for the application, Alembic (through SQLAlchemy) for the schema."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url

from bff import read_replica, sqlite_backend
from bff.settings import SettingsError
from domain import MODEL_MODULES

ROOT = Path(__file__).resolve().parent.parent
CONNECT_TIMEOUT_SECONDS = 5.0  # a new PostgreSQL connection not established by then fails (asyncpg: 60)


def tortoise_config(database_url: str, replica_url: str = "") -> dict:
    config = {
        "connections": {"default": _connection(database_url)},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }
    if replica_url:  # public reads may go to a streaming replica (bff/read_replica.py)
        if not (_is_postgres(database_url) and _is_postgres(replica_url)):
            raise SettingsError("GOVHUB_DATABASE_REPLICA_URL needs PostgreSQL for both the primary and the replica")
        config["connections"][read_replica.REPLICA] = read_replica.connection(_connection(replica_url))
        config["routers"] = ["bff.read_replica.ReplicaRouter"]
    return config


def _is_postgres(database_url: str) -> bool:
    return database_url.startswith(("postgres://", "postgresql://", "asyncpg://"))


def _connection(database_url: str) -> str | dict:
    if database_url.startswith("sqlite://"):
        connection = expand_db_url(database_url)
        connection["engine"] = "bff.sqlite_backend"  # transactions begin IMMEDIATE: see there
        connection["credentials"]["busy_timeout"] = sqlite_backend.BUSY_TIMEOUT_MS  # set as a PRAGMA
        return connection
    if not _is_postgres(database_url):
        return database_url
    connection = expand_db_url(database_url)
    connection["engine"] = "bff.postgres_backend"  # a transaction that cannot begin cleans up: see there
    # asyncpg runs "SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL" on every
    # connection it takes back: a round trip after every query outside a transaction. The hub
    # takes no advisory locks, keeps no cursors, listens to nothing and sets nothing per session;
    # an open transaction is still rolled back before the connection is reused (asyncpg does that
    # apart from this query).
    connection["credentials"]["reset"] = _nothing_to_reset
    # A batch of submissions inserts 1 to 64 rows per statement into five tables: each size is a
    # statement of its own, and asyncpg's cache of 100 prepared statements would keep re-preparing.
    connection["credentials"]["statement_cache_size"] = 1024
    # A PostgreSQL that does not answer (a partition, a host gone without a reset) held each new
    # connection for asyncpg's default 60 s: requests hung. Past this the connect fails, and the
    # request gets the 503 database_unavailable problem (bff/common/outages.py) within seconds.
    connection["credentials"]["timeout"] = CONNECT_TIMEOUT_SECONDS
    return connection


async def _nothing_to_reset(connection) -> None:
    return None


async def connect(database_url: str, *, replica_url: str = "", replica_max_lag: float = 2.0) -> None:
    """``replica_url``: a streaming replica that public reads may use while it is at most
    ``replica_max_lag`` seconds behind (docs/read-replica.md)."""
    if database_url.startswith("sqlite://"):
        Path(sqlite_path(database_url)).parent.mkdir(parents=True, exist_ok=True)
    # Tortoise 1.x keeps its context in a contextvar; Sanic's request tasks do not inherit the
    # listener's context, so the one database of a hub process is the global fallback.
    await Tortoise.init(config=tortoise_config(database_url, replica_url), _enable_global_fallback=True)
    if replica_url:
        read_replica.ROUTING.start(max_lag=replica_max_lag)


async def disconnect() -> None:
    await read_replica.ROUTING.stop()
    await Tortoise.close_connections()


def sqlite_path(database_url: str) -> str:
    return database_url.removeprefix("sqlite://")


def sqlalchemy_url(database_url: str, *, sync: bool = False) -> str:
    """The same database in SQLAlchemy's spelling (Alembic and the drift test use it)."""
    if database_url.startswith("sqlite://"):
        return f"sqlite{'' if sync else '+aiosqlite'}:///{sqlite_path(database_url)}"
    parts = urlsplit(database_url)
    if parts.scheme in {"postgres", "postgresql", "asyncpg"}:
        return f"postgresql+asyncpg://{parts.netloc}{parts.path}" + (f"?{parts.query}" if parts.query else "")
    raise ValueError(f"unsupported database URL scheme: {parts.scheme}")


def alembic_config(database_url: str):
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "alembic"))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    return config


def migrate(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``. Synchronous: call it before the event loop runs."""
    from alembic import command

    if database_url.startswith("sqlite://"):
        Path(sqlite_path(database_url)).parent.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(database_url), revision)
