"""The baseline: a bare Sanic hello-world served exactly as ``govhub serve`` serves the hub (Sanic's
process manager with one worker, no access log), so a benchmark's ratio measures what the hub adds.

    python -m bench.bare_sanic PORT
"""
from __future__ import annotations

import sys

from sanic import Sanic
from sanic.response import json
from sanic.worker.loader import AppLoader


def create_app() -> Sanic:
    app = Sanic("bare_sanic", configure_logging=False)
    app.config.ACCESS_LOG = False

    @app.get("/")
    async def hello(request):
        return json({"hello": "world"})

    return app


if __name__ == "__main__":
    loader = AppLoader(factory=create_app)
    app = loader.load()
    app.prepare(host="127.0.0.1", port=int(sys.argv[1]), workers=1, access_log=False, motd=False)
    Sanic.serve(primary=app, app_loader=loader)
