"""Alembic owns the schema: hand-written migrations, no autogenerate (target_metadata is None).

The URL comes from ``sqlalchemy.url`` (set by ``bff.database.alembic_config``) or, when Alembic is
run from the command line, from ``GOVHUB_DATABASE_URL``.
"""
import asyncio
import os

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config
target_metadata = None


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from bff.database import sqlalchemy_url
    from bff.settings import Settings

    return sqlalchemy_url(os.environ.get("GOVHUB_DATABASE_URL") or Settings().database_url)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_async() -> None:
    engine = create_async_engine(_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_async())
