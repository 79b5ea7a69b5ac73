"""Database wiring: Tortoise for the application, Alembic (through SQLAlchemy) for the schema."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from tortoise import Tortoise

from domain import MODEL_MODULES

ROOT = Path(__file__).resolve().parent.parent


def tortoise_config(database_url: str) -> dict:
    return {
        "connections": {"default": database_url},
        "apps": {"models": {"models": MODEL_MODULES, "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def connect(database_url: str) -> None:
    if database_url.startswith("sqlite://"):
        Path(sqlite_path(database_url)).parent.mkdir(parents=True, exist_ok=True)
    # Tortoise 1.x keeps its context in a contextvar; Sanic's request tasks do not inherit the
    # listener's context, so the one database of a hub process is the global fallback.
    await Tortoise.init(config=tortoise_config(database_url), _enable_global_fallback=True)


async def disconnect() -> None:
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
