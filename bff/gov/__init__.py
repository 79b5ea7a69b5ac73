"""Departments and provincial nodes: the signed machine-to-machine API (``/gov/v1``)."""
from __future__ import annotations

from sanic import Sanic

from bff.gov.auth import describe_security
from bff.gov.routes import bp
from bff.gov import applications as _applications  # noqa: F401  (applications: adds its routes to bp)


def install(app: Sanic) -> None:
    describe_security(app)
    app.blueprint(bp)
    from bff.gov.licenses import bp as licenses_bp  # seals and licenses
    app.blueprint(licenses_bp)
