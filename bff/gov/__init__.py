"""Departments and provincial nodes: the signed machine-to-machine API (``/gov/v1``)."""
from __future__ import annotations

from sanic import Sanic

from bff.gov import applications as _applications  # noqa: F401  (applications: adds its routes to bp)
from bff.gov.auth import describe_security
from bff.gov.exchange import bp as exchange_bp
from bff.gov.health import bp as health_bp
from bff.gov.routes import bp
from bff.gov.sharing import bp as sharing_bp


def install(app: Sanic) -> None:
    describe_security(app)
    app.blueprint(bp)
    from bff.gov.licenses import bp as licenses_bp  # seals and licenses
    app.blueprint(licenses_bp)
    app.blueprint(sharing_bp)  # data sharing: the catalog, grants, identity verification
    app.blueprint(exchange_bp)  # data sharing: the exchange (/r1)
    app.blueprint(health_bp)  # health codes: issuers, records, rules, revocations, online checks
