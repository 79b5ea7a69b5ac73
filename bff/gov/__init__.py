"""Departments and provincial nodes: the signed machine-to-machine API (``/gov/v1``)."""
from __future__ import annotations

from sanic import Sanic

from bff.gov.auth import describe_security
from bff.gov.routes import bp


def install(app: Sanic) -> None:
    describe_security(app)
    app.blueprint(bp)
