"""The baselines: a bare Sanic hello-world served exactly as ``govhub serve`` serves the hub
(Sanic's process manager with one worker, no access log), so a benchmark's ratio measures what the
hub adds; and, for writes, the same bare Sanic making one durable PostgreSQL insert per request —
what the cheapest possible write costs on this machine, to read a write benchmark against.

    python -m bench.bare_sanic PORT
    python -m bench.bare_sanic PORT --insert postgres://postgres@127.0.0.1:5432/govhub_submit_bench
"""
from __future__ import annotations

import argparse
import functools

from sanic import Sanic
from sanic.response import json
from sanic.worker.loader import AppLoader

TABLE = "bench_bare_writes"


def create_app(database_url: str | None = None) -> Sanic:
    app = Sanic("bare_sanic", configure_logging=False)
    app.config.ACCESS_LOG = False

    @app.get("/")
    async def hello(request):
        return json({"hello": "world"})

    if database_url:
        _add_insert(app, database_url)
    return app


def _add_insert(app: Sanic, database_url: str) -> None:
    import asyncpg

    @app.before_server_start
    async def connect(app, _):
        app.ctx.pool = await asyncpg.create_pool(database_url, min_size=4, max_size=16)
        await app.ctx.pool.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, body jsonb NOT NULL,"
                                   " at timestamptz NOT NULL DEFAULT now())")

    @app.post("/wx/v1/applications")  # the submit bench's path, so the same wrk script drives it
    async def insert(request):
        row_id = await app.ctx.pool.fetchval(f"INSERT INTO {TABLE} (body) VALUES ($1) RETURNING id",
                                             request.body.decode())
        return json({"id": row_id}, status=201)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("--insert", metavar="DATABASE_URL", help="also POST /wx/v1/applications: one insert each")
    args = parser.parse_args()
    loader = AppLoader(factory=functools.partial(create_app, args.insert))  # picklable for the worker
    app = loader.load()
    app.prepare(host="127.0.0.1", port=args.port, workers=1, access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)
